import EddyStorage

/// A document as kept in the state family: the offset of the write that produced it, then
/// its canonical JSON. The offset is what lets a read record name the writes behind an answer.
struct StoredValue: Equatable {
    static let formatVersion: UInt8 = 1

    /// Offset, in the same partition, of the log record that wrote this value.
    var producedAt: UInt64
    /// Canonical JSON bytes of the document.
    var json: [UInt8]

    func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 9 + json.count)
        writer.write(Self.formatVersion)
        writer.write(producedAt)
        writer.writeRaw(json)
        return writer.bytes
    }

    init(producedAt: UInt64, json: [UInt8]) {
        self.producedAt = producedAt
        self.json = json
    }

    /// Decodes a stored value; nil when the bytes are not one (damaged state).
    init?(encoded bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        var reader = BinaryReader(array)
        guard let version = try? reader.readUInt8(), version == Self.formatVersion,
              let offset = try? reader.readUInt64()
        else { return nil }
        producedAt = offset
        json = Array(reader.readRest())
    }
}
