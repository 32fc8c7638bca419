/// The RocksDB settings that matter for Eddy, with defaults sized for a small server.
public struct StorageOptions: Sendable {
    /// Shared LRU block cache for all column families. Bounds read memory.
    public var blockCacheBytes: Int = 256 << 20
    /// Memtable size per column family before it is flushed to an SST file.
    public var writeBufferBytes: Int = 32 << 20
    /// Upper bound on all WAL files before RocksDB forces memtable flushes.
    public var walBytesMax: Int = 512 << 20
    /// Bloom filter bits per key: makes point lookups of absent keys (new request IDs) cheap.
    public var bloomBitsPerKey: Double = 10
    /// The memtable bloom filter's size as a fraction of the write buffer (RocksDB's
    /// `memtable_prefix_bloom_size_ratio`, whole keys): cheap misses in unflushed data.
    public var memtableBloomRatio: Double = 0.02
    /// Background flush and compaction threads.
    public var backgroundJobs: Int = 2
    /// LZ4 keeps CPU low on the 2-core target machine; JSON compresses well anyway.
    public var compressesWithLZ4: Bool = true

    public init() {}
}
