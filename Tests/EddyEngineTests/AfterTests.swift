@testable import EddyEngine
import EddyModel
import Testing

@Suite struct AfterTests {
    @Test func after_alreadyApplied_doesNotWait() async throws {
        let h = try EngineHarness()
        let put = try await h.result(["op": "put", "table": "users", "key": "a", "value": 1])
        let get = try await h.result(["op": "get", "table": "users", "key": "b", "after": put["position"]!])
        #expect(get["ok"] == true)
    }

    @Test func after_futureOffset_waitsUntilThatPartitionAppliesIt() async throws {
        let h = try EngineHarness()
        let p = h.partition(of: "users", "a")
        // Offset 3 of a's partition does not exist yet; two more writes there create it.
        let engine = h.engine
        let read = try Event(json: ["op": "get", "table": "users", "key": "zz", "after": .string("\(p):3")], limits: Limits())
        let waiting = Task { try JSON(parsing: await engine.handle(read).body) }
        try await Task.sleep(for: .milliseconds(100))
        for value in 1...3 { _ = try await h.result(["op": "put", "table": "users", "key": "a", "value": .number(Double(value))]) }
        let result = try await waiting.value
        #expect(result["ok"] == true)
    }

    @Test func after_neverReached_failsWithAfterTimeout() async throws {
        let h = try EngineHarness { $0.afterTimeoutSeconds = 0.3 }
        let result = try await h.send(["op": "get", "table": "users", "key": "a", "after": "0:999"])
        #expect(result.error?.code == .afterTimeout)
    }
}
