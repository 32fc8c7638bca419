internal import CRocksDB

/// A set of puts and deletes that RocksDB applies atomically: all of them or none.
///
/// One batch belongs to one thread (it is not Sendable). Partition operators reuse a
/// batch per group by calling `clear()` after each write, which avoids an allocation per group.
public final class WriteBatch {
    let handle: OpaquePointer

    public init() {
        handle = rocksdb_writebatch_create()
    }

    deinit {
        rocksdb_writebatch_destroy(handle)
    }

    public func put(_ family: ColumnFamily, key: some ContiguousBytes, value: some ContiguousBytes) {
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                rocksdb_writebatch_put_cf(
                    handle, family.handle,
                    k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                    v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count
                )
            }
        }
    }

    public func delete(_ family: ColumnFamily, key: some ContiguousBytes) {
        key.withUnsafeBytes { k in
            rocksdb_writebatch_delete_cf(handle, family.handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
        }
    }

    /// Deletes every key in `[start, end)`.
    public func deleteRange(_ family: ColumnFamily, from start: some ContiguousBytes, to end: some ContiguousBytes) {
        start.withUnsafeBytes { s in
            end.withUnsafeBytes { e in
                rocksdb_writebatch_delete_range_cf(
                    handle, family.handle,
                    s.baseAddress?.assumingMemoryBound(to: CChar.self), s.count,
                    e.baseAddress?.assumingMemoryBound(to: CChar.self), e.count
                )
            }
        }
    }

    /// Number of operations in the batch.
    public var count: Int { Int(rocksdb_writebatch_count(handle)) }

    /// Marks the current end of the batch, so a later `rollbackToSavePoint` can undo what
    /// follows (a group that failed halfway through staging).
    public func setSavePoint() {
        rocksdb_writebatch_set_save_point(handle)
    }

    /// Removes everything added since the last `setSavePoint`.
    public func rollbackToSavePoint() throws(StorageError) {
        try Self.check("rollback batch") { rocksdb_writebatch_rollback_to_save_point(handle, &$0) }
    }

    /// Forgets the last save point without rolling back.
    public func popSavePoint() throws(StorageError) {
        try Self.check("pop save point") { rocksdb_writebatch_pop_save_point(handle, &$0) }
    }

    /// Runs a C call that reports failure through an error string, and throws it.
    private static func check(_ operation: String, _ call: (inout UnsafeMutablePointer<CChar>?) -> Void) throws(StorageError) {
        var error: UnsafeMutablePointer<CChar>? = nil
        call(&error)
        if let raw = error {
            defer { rocksdb_free(raw) }
            throw StorageError(operation: operation, message: String(cString: raw))
        }
    }

    public func clear() {
        rocksdb_writebatch_clear(handle)
    }
}
