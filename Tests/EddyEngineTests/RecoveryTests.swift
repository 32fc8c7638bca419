@testable import EddyEngine
import EddyLog
import EddyModel
import EddyStorage
import Foundation
import Logging
import Testing

@Suite struct RecoveryTests {
    @Test func start_replaysLogRecordsTheStateHasNotApplied() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "users", "key": "k", "value": 1])
        let p = h.partition(of: "users", "k")
        // A log that commits apart from state (a distributed log) can crash between the two:
        // append a record with no state writes, as such a crash would leave it.
        try h.withClosedStore { _, store in
            let log = try store.openLog(partition: p)
            let event = Event(id: "gap-1", op: .put, table: "users", key: "k", value: 2)
            let payload = LogPayload(epoch: 1, timestampMs: 0, event: event, outcome: .applied([Change(table: "users", key: "k", value: JSON(2).serialized())]))
            try store.append(to: log, [payload.encoded()], with: WriteBatch(), durable: true)
        }
        try h.restart()
        let get = try await h.result(["op": "get", "table": "users", "key": "k"])
        #expect(get["value"] == 2)
        // The replayed event's ID is known again: a retry is not applied twice.
        let retry = try await h.send(["id": "gap-1", "op": "put", "table": "users", "key": "k", "value": 2])
        #expect(retry.replayed)
    }

    @Test func start_withDamagedTailRecord_refusesThatPartitionOnly() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "users", "key": "k", "value": 1])
        let p = h.partition(of: "users", "k")
        try h.damageLogRecord(partition: p, offset: 1)
        try h.restart()
        guard case .failed(let reason) = h.engine.partitionHealth[p] else {
            Issue.record("partition \(p) should refuse to serve")
            return
        }
        #expect(reason.contains("corrupt"))
        let refused = try await h.send(["op": "get", "table": "users", "key": "k"])
        #expect(refused.error?.code == .partitionUnavailable)
        // Other partitions keep serving.
        var otherKey = "other-0"
        var index = 0
        while h.partition(of: "users", otherKey) == p {
            index += 1
            otherKey = "other-\(index)"
        }
        #expect(try await h.send(["op": "put", "table": "users", "key": .string(otherKey), "value": 1]).error == nil)
    }

    @Test func start_withDifferentPartitionCount_isRefusedWithReason() async throws {
        let h = try EngineHarness()
        h.engine.close()
        var configuration = h.configuration
        configuration.partitions = 4
        #expect {
            _ = try Engine(configuration: configuration, logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("created with 8 partitions")
        }
        try h.restart()
    }

    /// A start that fails late (here: a damaged outbox entry, found after the worker, feed and
    /// hub threads exist) stops what it started and closes the database, so the same process
    /// can open the directory again once the damage is dealt with.
    @Test func start_failingLate_releasesTheDataDirectory() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "users", "key": "k", "value": 1])
        try h.withClosedStore { database, _ in
            let batch = WriteBatch()
            batch.put(database.columnFamily(StoreLayout.outbox), key: Array("x/@y".utf8), value: [1, 2, 3])
            try database.write(batch, sync: true)
        }
        #expect(throws: (any Error).self) { _ = try Engine(configuration: h.configuration, logger: Logger(label: "test")) }
        // Still locked, had the failed start kept RocksDB open.
        try h.withClosedStore { database, _ in
            let batch = WriteBatch()
            batch.delete(database.columnFamily(StoreLayout.outbox), key: Array("x/@y".utf8))
            try database.write(batch, sync: true)
        }
        try h.restart()
        #expect(try await h.result(["op": "get", "table": "users", "key": "k"])["value"] == 1)
    }

    @Test func fullInbox_answersOverloaded_neverDropsSilently() async throws {
        let h = try EngineHarness {
            $0.inboxEventsMax = 1
            $0.groupEventsMax = 1
        }
        let events = try (0..<200).map { _ in try Event(json: ["op": "incr", "table": "counters", "key": "c", "field": "n"], limits: Limits()) }
        let results = await h.engine.handle(batch: events)
        let applied = results.filter { $0.error == nil }.count
        let overloaded = results.filter { $0.error?.code == .overloaded }.count
        #expect(overloaded > 0)
        #expect(applied + overloaded == 200)
        #expect(try await h.result(["op": "get", "table": "counters", "key": "c"])["value"] == ["n": .number(Double(applied))])
    }
}
