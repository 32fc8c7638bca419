@testable import EddyEngine
import EddyModel
import Testing

@Suite struct OperationTests {
    @Test func put_thenGet_returnsDocumentAndProducingPosition() async throws {
        let h = try EngineHarness()
        let put = try await h.result(["op": "put", "table": "users", "key": "alice", "value": ["name": "Alice"]])
        #expect(put["ok"] == true)
        let get = try await h.result(["op": "get", "table": "users", "key": "alice"])
        #expect(get["found"] == true)
        #expect(get["value"] == ["name": "Alice"])
        let p = h.partition(of: "users", "alice")
        #expect(put["position"]?.stringValue == "\(p):1")
        #expect(get["position"]?.stringValue == "\(p):2")
    }

    @Test func get_whenKeyAbsent_isFoundFalseWithNullValue() async throws {
        let h = try EngineHarness()
        let get = try await h.result(["op": "get", "table": "users", "key": "nobody"])
        #expect(get["ok"] == true)
        #expect(get["found"] == false)
        #expect(get["value"] == .null)
    }

    @Test func patch_appliesMergePatch_andCreatesMissingDocument() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "users", "key": "a", "value": ["name": "A", "tags": ["x": 1, "y": 2]]])
        let patched = try await h.result(["op": "patch", "table": "users", "key": "a", "value": ["tags": ["x": nil, "z": 3], "age": 30]])
        #expect(patched["value"] == ["name": "A", "tags": ["y": 2, "z": 3], "age": 30])
        let created = try await h.result(["op": "patch", "table": "users", "key": "new", "value": ["a": 1]])
        #expect(created["value"] == ["a": 1])
    }

    @Test func incr_startsFromZero_andAddsNegativeAmounts() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "incr", "table": "counters", "key": "c", "field": "n", "by": 5])
        let second = try await h.result(["op": "incr", "table": "counters", "key": "c", "field": "n", "by": -2])
        #expect(second["value"] == ["n": 3])
    }

    @Test func incr_whenFieldIsNotNumeric_isRejectedAndChangesNothing() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "counters", "key": "c", "value": ["n": "text"]])
        let rejected = try await h.send(["op": "incr", "table": "counters", "key": "c", "field": "n"])
        #expect(rejected.error?.code == EddyError.Code.notANumber)
        let notObject = try await h.send(["op": "put", "table": "counters", "key": "d", "value": [1, 2]])
        #expect(notObject.error == nil)
        #expect(try await h.send(["op": "incr", "table": "counters", "key": "d", "field": "n"]).error?.code == .notAnObject)
        #expect(try await h.result(["op": "get", "table": "counters", "key": "c"])["value"] == ["n": "text"])
    }

    @Test func insert_whenKeyExists_isConflict_andKeepsFirstValue() async throws {
        let h = try EngineHarness()
        #expect(try await h.send(["op": "insert", "table": "users", "key": "u", "value": 1]).error == nil)
        let second = try await h.send(["op": "insert", "table": "users", "key": "u", "value": 2])
        #expect(second.error?.code == .conflict)
        #expect(try await h.result(["op": "get", "table": "users", "key": "u"])["value"] == 1)
    }

    @Test func insert_manyConcurrentClaimsOfOneKey_exactlyOneWins() async throws {
        let h = try EngineHarness()
        let results = try await withThrowingTaskGroup(of: EventResult.self) { group in
            for claimant in 0..<50 {
                group.addTask { try await h.send(["op": "insert", "table": "users", "key": "name:bob", "value": ["by": .number(Double(claimant))]]) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0.error == nil }.count == 1)
        #expect(results.filter { $0.error?.code == .conflict }.count == 49)
    }

    @Test func delete_removesDocument_andReportsWhetherItExisted() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "users", "key": "d", "value": 1])
        #expect(try await h.result(["op": "delete", "table": "users", "key": "d"])["deleted"] == true)
        #expect(try await h.result(["op": "delete", "table": "users", "key": "d"])["deleted"] == false)
        #expect(try await h.result(["op": "get", "table": "users", "key": "d"])["found"] == false)
    }

    @Test func scan_mergesPartitionsInKeyOrder_withPrefixAndLimit() async throws {
        let h = try EngineHarness()
        for index in 0..<40 {
            _ = try await h.result(["op": "put", "table": "users", "key": .string("k\(String(format: "%02d", index))"), "value": .number(Double(index))])
        }
        _ = try await h.result(["op": "put", "table": "users", "key": "other", "value": 0])
        _ = try await h.result(["op": "put", "table": "stock", "key": "k00", "value": "wrong table"])
        let page = try await h.result(["op": "scan", "table": "users", "prefix": "k", "limit": 10])
        let keys = page["items"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []
        #expect(keys == (0..<10).map { "k" + String(format: "%02d", $0) })
        #expect(page["more"] == true)
        let all = try await h.result(["op": "scan", "table": "users", "prefix": "k", "limit": 1000])
        #expect(all["items"]?.arrayValue?.count == 40)
        #expect(all["more"] == false)
        #expect(try Position(token: all["position"]?.stringValue ?? "x").offsets.count == h.configuration.partitions)
    }

    @Test func batch_laterEventsSeeEarlierWritesOfTheSameGroup() async throws {
        let h = try EngineHarness()
        let events: [JSON] = [
            ["op": "put", "table": "users", "key": "g1", "value": 1],
            ["op": "incr", "table": "counters", "key": "g", "field": "n"],
            ["op": "incr", "table": "counters", "key": "g", "field": "n"],
            ["op": "get", "table": "counters", "key": "g"],
            ["op": "delete", "table": "users", "key": "g1"],
            ["op": "scan", "table": "users", "prefix": "g"],
        ]
        let results = await h.engine.handle(batch: try events.map { try Event(json: $0, limits: h.configuration.limits) })
        let parsed = try results.map { try JSON(parsing: $0.body) }
        #expect(parsed[3]["value"] == ["n": 2])
        #expect(parsed[5]["items"] == .array([]))
    }
}
