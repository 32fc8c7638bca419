/// Appends fixed-width big-endian integers and length-prefixed byte strings.
///
/// Big-endian so that encoded integers sort the same as their values: keys built with it
/// iterate in numeric order in RocksDB.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func write(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    public mutating func write(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// Raw bytes with no length prefix (for fixed-size fields and key suffixes).
    public mutating func writeRaw(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    /// A 32-bit length followed by the bytes.
    public mutating func writeBlob(_ blob: some Collection<UInt8>) {
        write(UInt32(blob.count))
        bytes.append(contentsOf: blob)
    }

    public mutating func writeString(_ string: String) { writeBlob(string.utf8) }

    /// An unsigned LEB128 varint: 7 bits a byte, low bits first, so small numbers (lengths,
    /// counts, offsets) take one or two bytes. Not order-preserving: never use it in keys.
    public mutating func writeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A varint length followed by the bytes.
    public mutating func writeShortBlob(_ blob: some Collection<UInt8>) {
        writeVarint(UInt64(blob.count))
        bytes.append(contentsOf: blob)
    }

    public mutating func writeShortString(_ string: String) { writeShortBlob(string.utf8) }
}
