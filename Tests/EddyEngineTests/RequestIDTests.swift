@testable import EddyEngine
import EddyModel
import Testing

@Suite struct RequestIDTests {
    @Test func retry_returnsFirstResultByteForByte_andAppliesOnce() async throws {
        let h = try EngineHarness()
        let event: JSON = ["id": "r-1", "op": "incr", "table": "counters", "key": "c", "field": "n", "by": 3]
        let first = try await h.send(event)
        _ = try await h.send(["op": "put", "table": "counters", "key": "other", "value": 1])
        let retry = try await h.send(event)
        #expect(retry.body == first.body)
        #expect(retry.replayed)
        #expect(!first.replayed)
        #expect(try await h.result(["op": "get", "table": "counters", "key": "c"])["value"] == ["n": 3])
    }

    @Test func retry_afterRestart_returnsFirstResultByteForByte() async throws {
        let h = try EngineHarness()
        let event: JSON = ["id": "r-2", "op": "insert", "table": "users", "key": "u", "value": ["v": 1]]
        let first = try await h.send(event)
        let rejected: JSON = ["id": "r-3", "op": "insert", "table": "users", "key": "u", "value": ["v": 2]]
        let firstRejection = try await h.send(rejected)
        #expect(firstRejection.error?.code == .conflict)
        try h.restart()
        #expect(try await h.send(event).body == first.body)
        #expect(try await h.send(rejected).body == firstRejection.body)
    }

    @Test func retry_inTheSameBatch_isAppliedOnce() async throws {
        let h = try EngineHarness()
        let event = try Event(json: ["id": "same", "op": "incr", "table": "counters", "key": "c", "field": "n"], limits: Limits())
        let results = await h.engine.handle(batch: [event, event, event])
        #expect(Set(results.map(\.body)).count == 1)
        #expect(try await h.result(["op": "get", "table": "counters", "key": "c"])["value"] == ["n": 1])
    }

    @Test func reusedID_forADifferentEvent_isIDReused() async throws {
        let h = try EngineHarness()
        _ = try await h.send(["id": "dup", "op": "put", "table": "users", "key": "k", "value": 1])
        let other = try await h.send(["id": "dup", "op": "put", "table": "users", "key": "k", "value": 2])
        #expect(other.error?.code == .idReused)
        #expect(try await h.result(["op": "get", "table": "users", "key": "k"])["value"] == 1)
    }

    @Test func getWithClientID_retryReturnsTheFirstAnswer_evenAfterTheDataChanged() async throws {
        let h = try EngineHarness()
        _ = try await h.send(["op": "put", "table": "stock", "key": "item", "value": ["count": 5]])
        let read: JSON = ["id": "read-1", "op": "get", "table": "stock", "key": "item"]
        let first = try await h.send(read)
        _ = try await h.send(["op": "put", "table": "stock", "key": "item", "value": ["count": 4]])
        try h.restart()
        let retry = try await h.send(read)
        #expect(retry.body == first.body)
        #expect(try JSON(parsing: retry.body)["value"] == ["count": 5])
    }

    @Test func serverAssignedIDs_nameTheRecordsPartitionOffsetAndEpoch() async throws {
        let h = try EngineHarness()
        let put = try await h.result(["op": "put", "table": "users", "key": "x", "value": 1])
        let p = h.partition(of: "users", "x")
        #expect(put["id"]?.stringValue == "@\(p)-1-\(h.engine.epoch)")
        try h.restart()
        let again = try await h.result(["op": "put", "table": "users", "key": "x", "value": 2])
        #expect(again["id"]?.stringValue == "@\(p)-2-\(h.engine.epoch)")
        #expect(h.engine.epoch == 2)
    }

    @Test func retention_dropsOldRecords_andAnExpiredRetryIsNotAppliedAgain() async throws {
        let h = try EngineHarness { $0.retainedRecordsPerPartition = 10 }
        for index in 0..<1100 {
            _ = try await h.send(["id": .string("e\(index)"), "op": "incr", "table": "counters", "key": "c", "field": "n"])
        }
        let expired = try await h.send(["id": "e0", "op": "incr", "table": "counters", "key": "c", "field": "n"])
        #expect(expired.error?.code == .outcomeExpired)
        let recent = try await h.send(["id": "e1099", "op": "incr", "table": "counters", "key": "c", "field": "n"])
        #expect(recent.replayed)
        #expect(try await h.result(["op": "get", "table": "counters", "key": "c"])["value"] == ["n": 1100])
        try h.restart()
        #expect(try await h.send(["id": "e0", "op": "incr", "table": "counters", "key": "c", "field": "n"]).error?.code == .outcomeExpired)
    }
}
