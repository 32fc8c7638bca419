internal import CRocksDB
import Foundation

extension Database {
    /// Writes a consistent point-in-time copy of the whole database to `directory`, which
    /// must not exist yet, while writers go on. SST files are hard links where `directory`
    /// is on the same file system (RocksDB never changes an SST once written, so sharing
    /// them is safe), the rest is copied. The copy is an ordinary database: open it with
    /// `Database(path:)` like the original; writing to it leaves the original untouched.
    ///
    /// Memtables are flushed first (`log_size_for_flush` 0), so the copy holds little WAL
    /// to replay when opened; every atomic write batch is in the copy entirely or not at all.
    public func checkpoint(to directory: String) throws(StorageError) {
        checkOpen()
        var error: UnsafeMutablePointer<CChar>? = nil
        let checkpoint = rocksdb_checkpoint_object_create(handle, &error)
        if let failure = takeError(&error) { throw StorageError(operation: "checkpoint \(path)", message: failure) }
        defer { rocksdb_checkpoint_object_destroy(checkpoint) }
        rocksdb_checkpoint_create(checkpoint, directory, 0, &error)
        if let failure = takeError(&error) { throw StorageError(operation: "checkpoint \(path) to \(directory)", message: failure) }
    }
}
