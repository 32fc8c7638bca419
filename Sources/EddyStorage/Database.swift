internal import CRocksDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An open RocksDB database with named column families.
///
/// All calls block the calling thread on RocksDB: call them only from threads the engine
/// owns, never from a NIO event loop or the Swift concurrency pool.
public final class Database: Sendable {
    // RocksDB's DB object is internally synchronised for concurrent gets, iterators and
    // writes from many threads. The raw handles below are immutable after init and are
    // released only once, under `closed`, so sharing the instance between threads is safe.
    // Internal, not private: `Database+Checkpoint.swift` passes it to RocksDB too.
    nonisolated(unsafe) let handle: OpaquePointer
    private nonisolated(unsafe) let options: OpaquePointer
    private nonisolated(unsafe) let tableOptions: OpaquePointer
    private nonisolated(unsafe) let cache: OpaquePointer
    private nonisolated(unsafe) let syncWrite: OpaquePointer
    private nonisolated(unsafe) let lazyWrite: OpaquePointer
    private nonisolated(unsafe) let defaultRead: OpaquePointer
    private let families: [String: ColumnFamily]
    private let closed = Atomic<Bool>(false)

    public let path: String

    /// Opens (creating if missing) the database at `path` with exactly `columnFamilies`
    /// besides RocksDB's own "default".
    public init(path: String, columnFamilies: [String], options storage: StorageOptions = StorageOptions()) throws(StorageError) {
        self.path = path
        let options = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_create_missing_column_families(options, 1)
        rocksdb_options_set_paranoid_checks(options, 1)
        rocksdb_options_increase_parallelism(options, Int32(max(2, storage.backgroundJobs)))
        rocksdb_options_set_max_background_jobs(options, Int32(storage.backgroundJobs))
        rocksdb_options_set_write_buffer_size(options, storage.writeBufferBytes)
        rocksdb_options_set_max_total_wal_size(options, UInt64(storage.walBytesMax))
        // Point-in-time recovery: after a crash keep every write up to the first damaged
        // WAL record and nothing after it. The log stays a prefix, so its hash chain holds.
        rocksdb_options_set_wal_recovery_mode(options, 2)
        rocksdb_options_set_compression(options, storage.compressesWithLZ4 ? 4 : 0)
        rocksdb_options_set_level_compaction_dynamic_level_bytes(options, 1)
        rocksdb_options_set_info_log_level(options, 2)  // warnings and up
        rocksdb_options_set_keep_log_file_num(options, 3)
        rocksdb_options_set_max_log_file_size(options, 8 << 20)
        // A bloom filter over each memtable's whole keys. Most point lookups while serving
        // are misses (a new request ID, a key not written yet); without it each one walks
        // the memtable's skip list before the SST blooms are even asked.
        rocksdb_options_set_memtable_prefix_bloom_size_ratio(options, storage.memtableBloomRatio)
        rocksdb_options_set_memtable_whole_key_filtering(options, 1)

        let cache = rocksdb_cache_create_lru(storage.blockCacheBytes)!
        let tableOptions = rocksdb_block_based_options_create()!
        rocksdb_block_based_options_set_block_cache(tableOptions, cache)
        rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom_full(storage.bloomBitsPerKey))
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(tableOptions, 1)
        rocksdb_options_set_block_based_table_factory(options, tableOptions)

        let names = ["default"] + columnFamilies
        var handles = [OpaquePointer?](repeating: nil, count: names.count)
        var error: UnsafeMutablePointer<CChar>? = nil
        let db: OpaquePointer? = names.withCStrings { cNames in
            let familyOptions = [OpaquePointer?](repeating: options, count: names.count)
            return familyOptions.withUnsafeBufferPointer { fo in
                handles.withUnsafeMutableBufferPointer { hs in
                    rocksdb_open_column_families(options, path, Int32(names.count), cNames, fo.baseAddress, hs.baseAddress, &error)
                }
            }
        }
        if let failure = takeError(&error) {
            rocksdb_block_based_options_destroy(tableOptions)
            rocksdb_cache_destroy(cache)
            rocksdb_options_destroy(options)
            throw StorageError(operation: "open \(path)", message: failure)
        }
        self.handle = db!
        self.options = options
        self.tableOptions = tableOptions
        self.cache = cache
        var families: [String: ColumnFamily] = [:]
        for (name, family) in zip(names, handles) {
            families[name] = ColumnFamily(handle: family!, name: name)
        }
        self.families = families
        syncWrite = rocksdb_writeoptions_create()!
        rocksdb_writeoptions_set_sync(syncWrite, 1)
        lazyWrite = rocksdb_writeoptions_create()!
        rocksdb_writeoptions_set_sync(lazyWrite, 0)
        defaultRead = rocksdb_readoptions_create()!
        rocksdb_readoptions_set_verify_checksums(defaultRead, 1)
    }

    deinit {
        close()
    }

    /// Flushes nothing extra and releases every handle. Later calls are programmer errors.
    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        for family in families.values {
            rocksdb_column_family_handle_destroy(family.handle)
        }
        rocksdb_close(handle)
        rocksdb_writeoptions_destroy(syncWrite)
        rocksdb_writeoptions_destroy(lazyWrite)
        rocksdb_readoptions_destroy(defaultRead)
        rocksdb_block_based_options_destroy(tableOptions)
        rocksdb_cache_destroy(cache)
        rocksdb_options_destroy(options)
    }

    /// Turns off RocksDB's perf counters for the calling thread; threads that call RocksDB on
    /// the request path call this when they start. The counters are per thread and on by
    /// default (`kEnableCount`), nothing here reads them, and each update is a thread-local
    /// lookup through the shared library's `__tls_get_addr`: about 2% of a durable put's CPU.
    public static func disablePerfCountersOnThisThread() {
        rocksdb_set_perf_level(1)  // kDisable
    }

    func checkOpen() {
        precondition(!closed.load(ordering: .relaxed), "Database \(path) used after close")
    }

    public func columnFamily(_ name: String) -> ColumnFamily {
        guard let family = families[name] else {
            preconditionFailure("column family \(name) was not declared when opening \(path)")
        }
        return family
    }

    /// Applies `batch` atomically. With `sync`, returns only after the WAL is on disk;
    /// a later synced write also makes every earlier unsynced write durable, because all
    /// column families share one WAL.
    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        checkOpen()
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_write(handle, sync ? syncWrite : lazyWrite, batch.handle, &error)
        if let failure = takeError(&error) { throw StorageError(operation: "write", message: failure) }
    }

    /// Makes every write that completed before this call durable: one fsync of the WAL,
    /// however many writes (from however many threads) it covers. This is group commit.
    public func syncWAL() throws(StorageError) {
        checkOpen()
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_flush_wal(handle, 1, &error)
        if let failure = takeError(&error) { throw StorageError(operation: "sync WAL", message: failure) }
    }

    /// The value stored under `key`, or nil.
    public func get(_ family: ColumnFamily, key: some ContiguousBytes, snapshot: Snapshot? = nil) throws(StorageError) -> [UInt8]? {
        checkOpen()
        var error: UnsafeMutablePointer<CChar>? = nil
        let read = snapshot?.readOptions ?? defaultRead
        let slice: OpaquePointer? = key.withUnsafeBytes { k in
            rocksdb_get_pinned_cf(handle, read, family.handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &error)
        }
        if let failure = takeError(&error) { throw StorageError(operation: "get", message: failure) }
        guard let slice else { return nil }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var length = 0
        guard let value = rocksdb_pinnableslice_value(slice, &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    /// Calls `body` for each key in `[start, end)` in key order until it returns false.
    /// The buffers are valid only during the call.
    public func scan(
        _ family: ColumnFamily,
        from start: some ContiguousBytes,
        to end: [UInt8]?,
        snapshot: Snapshot? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        checkOpen()
        let read = rocksdb_readoptions_create()!
        defer { rocksdb_readoptions_destroy(read) }
        rocksdb_readoptions_set_verify_checksums(read, 1)
        if let snapshot { rocksdb_readoptions_set_snapshot(read, snapshot.handle) }
        try withOptionalBytes(end) { upper in
            if let upper {
                rocksdb_readoptions_set_iterate_upper_bound(read, upper.baseAddress?.assumingMemoryBound(to: CChar.self), upper.count)
            }
            let iterator = rocksdb_create_iterator_cf(handle, read, family.handle)!
            defer { rocksdb_iter_destroy(iterator) }
            start.withUnsafeBytes { s in
                rocksdb_iter_seek(iterator, s.baseAddress?.assumingMemoryBound(to: CChar.self), s.count)
            }
            while rocksdb_iter_valid(iterator) != 0 {
                var keyLength = 0
                var valueLength = 0
                let key = rocksdb_iter_key(iterator, &keyLength)
                let value = rocksdb_iter_value(iterator, &valueLength)
                let goOn = try body(UnsafeRawBufferPointer(start: key, count: keyLength), UnsafeRawBufferPointer(start: value, count: valueLength))
                if !goOn { break }
                rocksdb_iter_next(iterator)
            }
            var error: UnsafeMutablePointer<CChar>? = nil
            rocksdb_iter_get_error(iterator, &error)
            if let failure = takeError(&error) { throw StorageError(operation: "scan", message: failure) }
        }
    }

    /// The last key-value pair in `[start, end)`, or nil if the range is empty.
    public func last(_ family: ColumnFamily, from start: [UInt8], to end: [UInt8]) throws(StorageError) -> (key: [UInt8], value: [UInt8])? {
        checkOpen()
        let read = rocksdb_readoptions_create()!
        defer { rocksdb_readoptions_destroy(read) }
        let iterator = rocksdb_create_iterator_cf(handle, read, family.handle)!
        defer { rocksdb_iter_destroy(iterator) }
        // Seek to the last key strictly below `end`.
        end.withUnsafeBytes { e in
            rocksdb_iter_seek_for_prev(iterator, e.baseAddress?.assumingMemoryBound(to: CChar.self), e.count)
        }
        var found: (key: [UInt8], value: [UInt8])? = nil
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            let key = Array(UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength))
            if key.lexicographicallyPrecedes(end) {
                if !key.lexicographicallyPrecedes(start) {
                    let value = Array(UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength))
                    found = (key, value)
                }
                break
            }
            rocksdb_iter_prev(iterator)
        }
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_iter_get_error(iterator, &error)
        if let failure = takeError(&error) { throw StorageError(operation: "last", message: failure) }
        return found
    }

    /// Runs `body` with a consistent point-in-time view of the whole database.
    public func withSnapshot<R>(_ body: (Snapshot) throws -> R) rethrows -> R {
        checkOpen()
        let snapshot = Snapshot(handle: rocksdb_create_snapshot(handle)!)
        defer {
            rocksdb_readoptions_destroy(snapshot.readOptions)
            rocksdb_release_snapshot(handle, snapshot.handle)
        }
        return try body(snapshot)
    }

    /// The SST files of the database and the column family each belongs to (file names as
    /// RocksDB reports them, e.g. "/000012.sst").
    public func liveFiles() -> [(name: String, columnFamily: String)] {
        checkOpen()
        guard let files = rocksdb_livefiles(handle) else { return [] }
        defer { rocksdb_livefiles_destroy(files) }
        return (0..<rocksdb_livefiles_count(files)).map { index in
            (String(cString: rocksdb_livefiles_name(files, index)), String(cString: rocksdb_livefiles_column_family_name(files, index)))
        }
    }

    /// A RocksDB property such as "rocksdb.estimate-num-keys", or nil if unknown.
    public func property(_ name: String, of family: ColumnFamily? = nil) -> String? {
        checkOpen()
        let raw = family.map { rocksdb_property_value_cf(handle, $0.handle, name) } ?? rocksdb_property_value(handle, name)
        guard let raw else { return nil }
        defer { rocksdb_free(raw) }
        return String(cString: raw)
    }

    /// Writes memtables to SST files (used by tests and by audit before reading files).
    public func flush() throws(StorageError) {
        checkOpen()
        let flushOptions = rocksdb_flushoptions_create()!
        defer { rocksdb_flushoptions_destroy(flushOptions) }
        rocksdb_flushoptions_set_wait(flushOptions, 1)
        var error: UnsafeMutablePointer<CChar>? = nil
        for family in families.values {
            rocksdb_flush_cf(handle, flushOptions, family.handle, &error)
            if let failure = takeError(&error) { throw StorageError(operation: "flush", message: failure) }
        }
    }
}

/// A consistent read view; valid only inside `Database.withSnapshot`.
public struct Snapshot: @unchecked Sendable {
    // Why unchecked: the snapshot handle is immutable and RocksDB allows reading through it
    // from any thread; `withSnapshot` scopes its lifetime.
    let handle: OpaquePointer
    let readOptions: OpaquePointer

    init(handle: OpaquePointer) {
        self.handle = handle
        readOptions = rocksdb_readoptions_create()!
        rocksdb_readoptions_set_verify_checksums(readOptions, 1)
        rocksdb_readoptions_set_snapshot(readOptions, handle)
    }
}

/// Converts RocksDB's malloc'd error string into a Swift string and frees it.
func takeError(_ error: inout UnsafeMutablePointer<CChar>?) -> String? {
    guard let raw = error else { return nil }
    defer {
        rocksdb_free(raw)
        error = nil
    }
    return String(cString: raw)
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

extension Array where Element == String {
    /// Calls `body` with a C array of NUL-terminated copies of the strings.
    fileprivate func withCStrings<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let constant = copies.map { UnsafePointer($0) }
        return constant.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
