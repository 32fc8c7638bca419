public import EddyModel
import EddyStorage

/// The engine's log record: the event as received, when and in which server run it was
/// handled, and its outcome. The log itself treats this as opaque bytes.
public struct LogPayload: Sendable, Equatable {
    /// 2: varint lengths, counts and offsets, and a read's source written as one byte when it
    /// is the event's own table and key (a `get`). Format 1 records (fixed 4- and 8-byte
    /// fields, every source spelled out) are still read: a log is never rewritten.
    static let formatVersion: UInt8 = 2

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
        writer.writeVarint(UInt64(epoch))
        writer.writeVarint(timestampMs)
        writer.writeShortBlob(event.canonicalJSON())
        switch outcome {
        case .applied(let changes):
            writer.write(UInt8(0))
            writer.writeVarint(UInt64(changes.count))
            for change in changes {
                writer.writeShortString(change.table)
                writer.writeShortString(change.key)
                if let value = change.value {
                    writer.write(UInt8(1))
                    writer.writeShortBlob(value)
                } else {
                    writer.write(UInt8(0))
                }
            }
        case .rejected(let error):
            writer.write(UInt8(1))
            writer.writeShortString(error.code.rawValue)
            writer.writeShortString(error.message)
        case .read(let record):
            writer.write(UInt8(2))
            writer.writeRaw(record.digest)
            writer.writeVarint(UInt64(record.sources.count))
            for source in record.sources {
                if source.table == event.table, source.key == event.key {
                    writer.write(UInt8(1))
                } else {
                    writer.write(UInt8(0))
                    writer.writeShortString(source.table)
                    writer.writeShortString(source.key)
                }
                writer.writeVarint(source.producedAt)
            }
            if let answer = record.answer {
                writer.write(UInt8(1))
                writer.writeShortBlob(answer)
            } else {
                writer.write(UInt8(0))
            }
        }
        return writer.bytes
    }

    /// The timestamp of an encoded payload, read from its fixed header without decoding the
    /// rest (the read pruner looks at every record's age, and decodes only the reads it prunes).
    static func timestampMs(peekingInto bytes: [UInt8]) -> UInt64? {
        var reader = Reader(bytes: BinaryReader(bytes))
        guard let version = try? reader.bytes.readUInt8(), version == 1 || version == 2 else { return nil }
        reader.version = version
        guard (try? reader.number(fixedBytes: 4)) != nil else { return nil }  // the epoch
        return try? reader.number(fixedBytes: 8)
    }

    public struct Damaged: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(decoding bytes: [UInt8]) throws(Damaged) {
        do {
            var reader = Reader(bytes: BinaryReader(bytes))
            reader.version = try reader.bytes.readUInt8()
            guard reader.version == 1 || reader.version == 2 else { throw Damaged(description: "unknown record format \(reader.version)") }
            guard let epoch = UInt32(exactly: try reader.number(fixedBytes: 4)) else { throw Damaged(description: "epoch out of range") }
            self.epoch = epoch
            timestampMs = try reader.number(fixedBytes: 8)
            let eventJSON = try JSON(parsing: Array(try reader.blob()), maxDepth: Limits.storedJSONDepthMax)
            event = try Event(storedJSON: eventJSON)
            switch try reader.bytes.readUInt8() {
            case 0:
                let count = try reader.number(fixedBytes: 4)
                var changes: [Change] = []
                for _ in 0..<count {
                    let table = try reader.string()
                    let key = try reader.string()
                    let value: [UInt8]? = try reader.bytes.readUInt8() == 1 ? Array(try reader.blob()) : nil
                    changes.append(Change(table: table, key: key, value: value))
                }
                outcome = .applied(changes)
            case 1:
                let code = try reader.string()
                let message = try reader.string()
                outcome = .rejected(EddyError(EddyError.Code(rawValue: code), message))
            case 2:
                let digest = Array(try reader.bytes.readRaw(count: 32))
                let count = try reader.number(fixedBytes: 4)
                var sources: [ReadRecord.Source] = []
                for _ in 0..<count {
                    let own = reader.version >= 2 ? try reader.bytes.readUInt8() == 1 : false
                    let table = own ? event.table : try reader.string()
                    let key = own ? (event.key ?? "") : try reader.string()
                    sources.append(ReadRecord.Source(table: table, key: key, producedAt: try reader.number(fixedBytes: 8)))
                }
                let answer: [UInt8]? = try reader.bytes.readUInt8() == 1 ? Array(try reader.blob()) : nil
                outcome = .read(ReadRecord(digest: digest, sources: sources, answer: answer))
            default:
                throw Damaged(description: "unknown outcome kind")
            }
            guard reader.bytes.isAtEnd else { throw Damaged(description: "trailing bytes after record") }
        } catch let damaged as Damaged {
            throw damaged
        } catch {
            throw Damaged(description: "record does not decode: \(error)")
        }
    }

    /// Reads numbers and byte strings as the record's format wrote them.
    private struct Reader {
        var bytes: BinaryReader
        var version: UInt8 = 0

        mutating func number(fixedBytes: Int) throws(BinaryReader.Truncated) -> UInt64 {
            guard version == 1 else { return try bytes.readVarint() }
            return fixedBytes == 4 ? UInt64(try bytes.readUInt32()) : try bytes.readUInt64()
        }

        mutating func blob() throws(BinaryReader.Truncated) -> ArraySlice<UInt8> {
            version == 1 ? try bytes.readBlob() : try bytes.readShortBlob()
        }

        mutating func string() throws(BinaryReader.Truncated) -> String {
            String(decoding: try blob(), as: UTF8.self)
        }
    }
}
