import EddyLog
import EddyStorage
import Foundation

/// A temp directory holding one RocksDB database that a test can close and reopen.
/// Created by `withLogStore`, which closes the database and removes the directory at the end.
final class LogTestStore {
    let directory: String
    let columnFamilies: [String]
    private(set) var database: Database
    /// The log store over `database`, as the engine runs one per data directory.
    private(set) var logStore: EmbeddedLogStore

    fileprivate init(directory: String, columnFamilies: [String]) throws {
        self.directory = directory
        self.columnFamilies = columnFamilies
        database = try Self.open(directory, columnFamilies)
        logStore = EmbeddedLogStore(database: database)
    }

    /// Closes the database and opens it again on the same files, as a restart would.
    /// Logs built on the old `Database` must not be used afterwards.
    func reopenDatabase() throws {
        logStore.close()
        database.close()
        database = try Self.open(directory, columnFamilies)
        logStore = EmbeddedLogStore(database: database)
    }

    fileprivate func close() {
        logStore.close()
        database.close()
    }

    private static func open(_ directory: String, _ families: [String]) throws -> Database {
        var options = StorageOptions()
        options.blockCacheBytes = 4 << 20
        options.writeBufferBytes = 1 << 20
        return try Database(path: directory + "/db", columnFamilies: families, options: options)
    }
}

/// Runs `body` with a database on a fresh temp directory with `columnFamilies`; always cleans up.
func withLogStore<R>(columnFamilies: [String], _ body: (LogTestStore) throws -> R) throws -> R {
    let directory = NSTemporaryDirectory() + "eddy-log-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try LogTestStore(directory: directory, columnFamilies: columnFamilies)
    defer { store.close() }
    return try body(store)
}

/// A distinct, recognisable payload for record number `n` of a test.
func payload(_ n: Int, partition: Int = 0) -> [UInt8] { Array("p\(partition) record \(n)".utf8) }

/// The hash each entry should carry if the entries chain from `previous` without a gap
/// (entries that still have their payloads).
func expectedHashes(of entries: [LogEntry], after previous: [UInt8]) -> [[UInt8]] {
    var hash = previous
    return entries.map { entry in
        hash = HashChain.link(previous: hash, offset: entry.offset, payload: entry.payload!, prunable: entry.prunable)
        return hash
    }
}

/// Bytes of a string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
