import Crypto

/// The hash chain that links each partition's log records.
///
/// A record's hash covers the previous record's hash, its own offset and its payload, so
/// changing, dropping, reordering or moving a record between partitions breaks every
/// hash after it.
public enum HashChain {
    public static let hashBytes = 32

    /// The "previous hash" of a partition's first record. Distinct per partition so that
    /// one partition's log cannot pass for another's.
    public static func genesis(partition: Int) -> [UInt8] {
        Array(SHA256.hash(data: Array("eddy log genesis, partition \(partition)".utf8)))
    }

    public static func link(previous: [UInt8], offset: UInt64, payload: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        withUnsafeBytes(of: offset.bigEndian) { hasher.update(bufferPointer: $0) }
        // Avoids copying the payload when it is already contiguous.
        if let done: Void = payload.withContiguousStorageIfAvailable({ hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }) {
            _ = done
        } else {
            hasher.update(data: Array(payload))
        }
        return Array(hasher.finalize())
    }
}
