public import EddyModel
import EddyStorage

/// The engine's log record: the event as received, when and in which server run it was
/// handled, and its outcome. The log itself treats this as opaque bytes.
public struct LogPayload: Sendable, Equatable {
    static let formatVersion: UInt8 = 1

    /// Which start of the server wrote the record. Unsynced records (reads) can be lost in a
    /// crash and their offsets reused; the epoch tells the old event from the new.
    public var epoch: UInt32
    public var timestampMs: UInt64
    public var event: Event
    public var outcome: Outcome

    public init(epoch: UInt32, timestampMs: UInt64, event: Event, outcome: Outcome) {
        self.epoch = epoch
        self.timestampMs = timestampMs
        self.event = event
        self.outcome = outcome
    }

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 128)
        writer.write(Self.formatVersion)
        writer.write(epoch)
        writer.write(timestampMs)
        writer.writeBlob(event.json.serialized())
        switch outcome {
        case .applied(let changes):
            writer.write(UInt8(0))
            writer.write(UInt32(changes.count))
            for change in changes {
                writer.writeString(change.table)
                writer.writeString(change.key)
                if let value = change.value {
                    writer.write(UInt8(1))
                    writer.writeBlob(value)
                } else {
                    writer.write(UInt8(0))
                }
            }
        case .rejected(let error):
            writer.write(UInt8(1))
            writer.writeString(error.code.rawValue)
            writer.writeString(error.message)
        case .read(let record):
            writer.write(UInt8(2))
            writer.writeRaw(record.digest)
            writer.write(UInt32(record.sources.count))
            for source in record.sources {
                writer.writeString(source.table)
                writer.writeString(source.key)
                writer.write(source.producedAt)
            }
            if let answer = record.answer {
                writer.write(UInt8(1))
                writer.writeBlob(answer)
            } else {
                writer.write(UInt8(0))
            }
        }
        return writer.bytes
    }

    /// The timestamp of an encoded payload, read from its fixed header without decoding the
    /// rest (the read pruner looks at every record's age, and decodes only the reads it prunes).
    static func timestampMs(peekingInto bytes: [UInt8]) -> UInt64? {
        var reader = BinaryReader(bytes)
        guard (try? reader.readUInt8()) == formatVersion, (try? reader.readUInt32()) != nil else { return nil }
        return try? reader.readUInt64()
    }

    public struct Damaged: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(decoding bytes: [UInt8]) throws(Damaged) {
        do {
            var reader = BinaryReader(bytes)
            guard try reader.readUInt8() == Self.formatVersion else { throw Damaged(description: "unknown record format") }
            epoch = try reader.readUInt32()
            timestampMs = try reader.readUInt64()
            let eventJSON = try JSON(parsing: Array(try reader.readBlob()), maxDepth: 64)
            event = try Event(storedJSON: eventJSON)
            switch try reader.readUInt8() {
            case 0:
                let count = try reader.readUInt32()
                var changes: [Change] = []
                for _ in 0..<count {
                    let table = try reader.readString()
                    let key = try reader.readString()
                    let value: [UInt8]? = try reader.readUInt8() == 1 ? Array(try reader.readBlob()) : nil
                    changes.append(Change(table: table, key: key, value: value))
                }
                outcome = .applied(changes)
            case 1:
                let code = try reader.readString()
                let message = try reader.readString()
                outcome = .rejected(EddyError(EddyError.Code(rawValue: code), message))
            case 2:
                let digest = Array(try reader.readRaw(count: 32))
                let count = try reader.readUInt32()
                var sources: [ReadRecord.Source] = []
                for _ in 0..<count {
                    sources.append(ReadRecord.Source(table: try reader.readString(), key: try reader.readString(), producedAt: try reader.readUInt64()))
                }
                let answer: [UInt8]? = try reader.readUInt8() == 1 ? Array(try reader.readBlob()) : nil
                outcome = .read(ReadRecord(digest: digest, sources: sources, answer: answer))
            default:
                throw Damaged(description: "unknown outcome kind")
            }
            guard reader.isAtEnd else { throw Damaged(description: "trailing bytes after record") }
        } catch let damaged as Damaged {
            throw damaged
        } catch {
            throw Damaged(description: "record does not decode: \(error)")
        }
    }
}
