@testable import EddyEngine
import EddyLog
import EddyModel
import EddyStorage
import Foundation
import Logging

/// An engine on a fresh temp directory, and shorthand for sending events to it.
///
/// Unchecked Sendable: tests replace `engine` only in `restart()`, never while sends run.
final class EngineHarness: @unchecked Sendable {
    let directory: String
    var configuration: EngineConfiguration
    private(set) var engine: Engine

    init(_ adjust: (inout EngineConfiguration) -> Void = { _ in }) throws {
        directory = NSTemporaryDirectory() + "eddy-engine-\(UUID().uuidString.prefix(8))"
        var configuration = EngineConfiguration(dataDirectory: directory)
        configuration.tables = ["users", "counters", "stock"]
        adjust(&configuration)
        self.configuration = configuration
        engine = try Engine(configuration: configuration, logger: Logger(label: "test"))
    }

    deinit {
        engine.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Closes and reopens the engine on the same directory, as a restart would.
    func restart(_ adjust: (inout EngineConfiguration) -> Void = { _ in }) throws {
        engine.close()
        adjust(&configuration)
        engine = try Engine(configuration: configuration, logger: Logger(label: "test"))
    }

    func send(_ event: JSON) async throws -> EventResult {
        await engine.handle(try Event(json: event, limits: configuration.limits))
    }

    /// Sends and returns the parsed result object.
    func result(_ event: JSON) async throws -> JSON {
        try JSON(parsing: try await send(event).body)
    }

    /// Closes the engine and opens its data directory directly, as a tool (or a test that
    /// damages files) would: the database and its log store, closed again afterwards.
    func withClosedStore<R>(_ body: (Database, EmbeddedLogStore) throws -> R) throws -> R {
        engine.close()
        let database = try Database(path: directory, columnFamilies: StoreLayout.columnFamilies)
        let store = EmbeddedLogStore(database: database)
        defer {
            store.close()
            database.close()
        }
        return try body(database, store)
    }

    /// Flips one payload byte of the stored log record at `offset` of `partition`, leaving
    /// its hash as it was: the damage a bad disk or a tamperer would leave.
    func damageLogRecord(partition: Int, offset: UInt64) throws {
        try withClosedStore { database, _ in
            let family = database.columnFamily(EmbeddedLog.columnFamily)
            var key = BinaryWriter()
            key.write(UInt16(partition))
            key.write(offset)
            guard var value = try database.get(family, key: key.bytes) else {
                throw DamageFailed(description: "no log record at \(partition):\(offset)")
            }
            value[value.count - 2] ^= 0x20
            let batch = WriteBatch()
            batch.put(family, key: key.bytes, value: value)
            try database.write(batch, sync: true)
        }
    }

    struct DamageFailed: Error, CustomStringConvertible {
        var description: String
    }

    func partition(of table: String, _ key: String) -> Int {
        Partitioner(count: configuration.partitions).partition(table: table, key: key)
    }
}
