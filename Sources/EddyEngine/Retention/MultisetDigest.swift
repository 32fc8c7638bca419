import Crypto

/// An order-independent digest of a set of key-value pairs: the sum, modulo 2^256, of
/// SHA-256(key length as 4 big-endian bytes ‖ key ‖ value) over every pair.
///
/// Why a sum and not one hash over the pairs in key order: the base snapshot changes a few
/// keys at a time, and a sum is updated by subtracting the old pair's hash and adding the
/// new one, so keeping the digest current never rescans the snapshot. Verifying it does
/// scan: the audit recomputes the sum and compares. The length prefix keeps the split
/// between key and value from being ambiguous.
struct MultisetDigest: Equatable, Sendable {
    static let byteCount = 32

    /// Four 64-bit limbs, most significant first.
    private var limbs: [UInt64] = [0, 0, 0, 0]

    init() {}

    /// The digest stored as 32 big-endian bytes; nil if `bytes` is not 32 long.
    init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        let array = Array(bytes)
        limbs = (0..<4).map { limb in
            array[(limb * 8)..<(limb * 8 + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
    }

    var bytes: [UInt8] {
        limbs.flatMap { limb in (0..<8).reversed().map { UInt8(truncatingIfNeeded: limb >> (UInt64($0) * 8)) } }
    }

    mutating func insert(key: some Collection<UInt8>, value: some Collection<UInt8>) {
        add(Self.limbs(of: Self.pairHash(key: key, value: value)))
    }

    mutating func remove(key: some Collection<UInt8>, value: some Collection<UInt8>) {
        // Subtracting x is adding its two's complement: (~x) + 1.
        add(Self.limbs(of: Self.pairHash(key: key, value: value)).map { ~$0 })
        add([0, 0, 0, 1])
    }

    private mutating func add(_ other: [UInt64]) {
        var carry: UInt64 = 0
        for index in (0..<4).reversed() {
            let (partial, overflow1) = limbs[index].addingReportingOverflow(other[index])
            let (sum, overflow2) = partial.addingReportingOverflow(carry)
            limbs[index] = sum
            carry = (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0)
        }
        // A carry out of the top limb is dropped: arithmetic is modulo 2^256.
    }

    private static func pairHash(key: some Collection<UInt8>, value: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt32(key.count).bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: Array(key))
        hasher.update(data: Array(value))
        return Array(hasher.finalize())
    }

    private static func limbs(of hash: [UInt8]) -> [UInt64] {
        (0..<4).map { limb in hash[(limb * 8)..<(limb * 8 + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
    }
}
