import EddyStorage
import Foundation

/// Runs `body` with a fresh, empty directory that is removed afterwards, whatever happens.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let path = NSTemporaryDirectory() + "eddy-storage-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Small memory settings so many test databases can be open at once.
func testStorageOptions() -> StorageOptions {
    var options = StorageOptions()
    options.blockCacheBytes = 4 << 20
    options.writeBufferBytes = 1 << 20
    return options
}

/// The column families every storage test opens besides "default".
let testFamilies = ["a", "b"]

/// Opens (creating) a database under `directory` with `testFamilies`.
func openDatabase(in directory: String, families: [String] = testFamilies) throws -> Database {
    try Database(path: directory + "/db", columnFamilies: families, options: testStorageOptions())
}

/// Runs `body` with a database open on a fresh temp directory, closing and removing it afterwards.
func withDatabase<R>(families: [String] = testFamilies, _ body: (Database) throws -> R) throws -> R {
    try withTemporaryDirectory { directory in
        let database = try openDatabase(in: directory, families: families)
        defer { database.close() }
        return try body(database)
    }
}

/// Bytes of a string, for short readable keys and values.
func b(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Puts every pair into `family` in one synced batch.
func put(_ database: Database, _ family: String, _ pairs: [([UInt8], [UInt8])]) throws {
    let batch = WriteBatch()
    let handle = database.columnFamily(family)
    for (key, value) in pairs { batch.put(handle, key: key, value: value) }
    try database.write(batch, sync: true)
}

/// Every key-value pair `scan` yields for `[start, end)`.
func scanAll(
    _ database: Database, _ family: String, from start: [UInt8] = [], to end: [UInt8]? = nil, snapshot: Snapshot? = nil
) throws -> [(key: [UInt8], value: [UInt8])] {
    var found: [(key: [UInt8], value: [UInt8])] = []
    try database.scan(database.columnFamily(family), from: start, to: end, snapshot: snapshot) { key, value in
        found.append((Array(key), Array(value)))
        return true
    }
    return found
}

/// Big-endian bytes of `value`, written by `BinaryWriter`.
func encoded(_ value: UInt64) -> [UInt8] {
    var writer = BinaryWriter()
    writer.write(value)
    return writer.bytes
}
