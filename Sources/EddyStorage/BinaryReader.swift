/// Reads what `BinaryWriter` wrote, throwing instead of trapping on short or damaged input,
/// because stored bytes can be corrupted by the world.
public struct BinaryReader {
    public struct Truncated: Error, CustomStringConvertible, Sendable {
        public var description: String { "record is truncated or malformed" }
    }

    private let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var isAtEnd: Bool { position == bytes.count }
    public var remaining: Int { bytes.count - position }

    public mutating func readUInt8() throws(Truncated) -> UInt8 {
        guard remaining >= 1 else { throw Truncated() }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readUInt16() throws(Truncated) -> UInt16 {
        UInt16(try readUInt8()) << 8 | UInt16(try readUInt8())
    }

    public mutating func readUInt32() throws(Truncated) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(try readUInt8()) }
        return value
    }

    public mutating func readUInt64() throws(Truncated) -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(try readUInt8()) }
        return value
    }

    public mutating func readRaw(count: Int) throws(Truncated) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw Truncated() }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    public mutating func readBlob() throws(Truncated) -> ArraySlice<UInt8> {
        try readRaw(count: Int(try readUInt32()))
    }

    public mutating func readString() throws(Truncated) -> String {
        String(decoding: try readBlob(), as: UTF8.self)
    }

    /// What `BinaryWriter.writeVarint` wrote; at most 10 bytes, and no bits beyond 64.
    public mutating func readVarint() throws(Truncated) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readUInt8()
            guard shift < 64, shift < 63 || byte <= 1 else { throw Truncated() }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    public mutating func readShortBlob() throws(Truncated) -> ArraySlice<UInt8> {
        let count = try readVarint()
        guard count <= UInt64(remaining) else { throw Truncated() }
        return try readRaw(count: Int(count))
    }

    public mutating func readShortString() throws(Truncated) -> String {
        String(decoding: try readShortBlob(), as: UTF8.self)
    }

    /// The unread remainder.
    public mutating func readRest() -> ArraySlice<UInt8> {
        defer { position = bytes.count }
        return bytes[position...]
    }
}
