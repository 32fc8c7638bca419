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

    public func clear() {
        rocksdb_writebatch_clear(handle)
    }
}
