internal import CRocksDB

/// A handle to one column family of an open `Database`.
///
/// The handle is owned by its `Database`, which destroys it on close. It is a plain
/// pointer wrapper so it can be passed between threads.
public struct ColumnFamily: @unchecked Sendable {
    // Why unchecked: RocksDB column family handles are immutable after open and safe to
    // share between threads; the owning Database guards against use after close.
    let handle: OpaquePointer
    public let name: String
}
