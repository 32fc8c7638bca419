import Crypto

/// The hash chain that links each partition's log records.
///
/// A record's hash covers the previous record's hash, its own offset and its contents, so
/// changing, dropping, reordering or moving a record between partitions breaks every
/// hash after it.
///
/// Records are hashed in one of two ways, by the format they were written in:
/// - `link(previous:offset:flags:payloadDigest:)`, for every record written now: SHA-256 over
///   the previous hash, the offset, the record's flags and the SHA-256 of its payload. Why the
///   payload's digest rather than the payload: a pruned record keeps only that digest, and
///   still verifies; why the flags: they say whether the record may be pruned, and a record
///   not staged prunable cannot be made to look prunable.
/// - `legacyLink(previous:offset:payload:)`, for records written before pruning existed:
///   SHA-256 over the previous hash, the offset and the payload. Still read; never written.
public enum HashChain {
    public static let hashBytes = 32

    /// Record flag: the writer allows the record to be pruned later.
    public static let prunableFlag: UInt8 = 0x01

    /// The "previous hash" of a partition's first record. Distinct per partition so that
    /// one partition's log cannot pass for another's.
    public static func genesis(partition: Int) -> [UInt8] {
        Array(SHA256.hash(data: Array("eddy log genesis, partition \(partition)".utf8)))
    }

    /// The hash of a record written now, from its payload.
    public static func link(previous: [UInt8], offset: UInt64, payload: some Collection<UInt8>, prunable: Bool) -> [UInt8] {
        link(previous: previous, offset: offset, flags: prunable ? prunableFlag : 0, payloadDigest: digest(payload))
    }

    /// The hash of a record written now, from its payload's digest (all a pruned record keeps).
    public static func link(previous: [UInt8], offset: UInt64, flags: UInt8, payloadDigest: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        withUnsafeBytes(of: offset.bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: [flags])
        hasher.update(data: payloadDigest)
        return Array(hasher.finalize())
    }

    /// The hash of a record in the first format (before pruning existed).
    public static func legacyLink(previous: [UInt8], offset: UInt64, payload: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        withUnsafeBytes(of: offset.bigEndian) { hasher.update(bufferPointer: $0) }
        update(&hasher, with: payload)
        return Array(hasher.finalize())
    }

    /// SHA-256 of a payload.
    public static func digest(_ payload: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        update(&hasher, with: payload)
        return Array(hasher.finalize())
    }

    private static func update(_ hasher: inout SHA256, with payload: some Collection<UInt8>) {
        // Avoids copying the payload when it is already contiguous.
        if let done: Void = payload.withContiguousStorageIfAvailable({ hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }) {
            _ = done
        } else {
            hasher.update(data: Array(payload))
        }
    }
}
