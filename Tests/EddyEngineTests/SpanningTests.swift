import Synchronization
@testable import EddyEngine
import EddyExpressions
import EddyModel
import EddyStorage
import Foundation
import Testing

/// Fan-out queries and procedures at the engine: partial failure, the outbox's redelivery
/// after a restart, and the audit re-running procedure stages.
@Suite struct SpanningTests {
    static func expression(_ text: String) -> EddyExpressions.Expression {
        try! EddyExpressions.Expression(parsing: text)
    }

    /// `pair` reads users/a and stock/b and sums their `n`; `move` moves `n` between counters,
    /// debit then credit, like the default configuration's transfer.
    static func declarations(creditFactor: String = "1") -> Declarations {
        var declarations = Declarations()
        declarations.queries["pair"] = QueryDeclaration(
            name: "pair", input: [InputField(name: "a", kind: .string), InputField(name: "b", kind: .string)],
            lookups: [Lookup(name: "x", table: "users", key: expression("input.a")), Lookup(name: "y", table: "stock", key: expression("input.b"))],
            result: [NamedExpression(name: "sum", expression: expression("(x.n ?? 0) + (y.n ?? 0)"))]
        )
        let amount = [InputField(name: "from", kind: .string), InputField(name: "to", kind: .string), InputField(name: "amount", kind: .number)]
        declarations.procedures["move"] = ProcedureDeclaration(name: "move", input: amount, outcomes: "outcomes", stages: [
            .init(name: "debit", at: Lookup(name: "", table: "counters", key: expression("input.from")),
                  reads: [Lookup(name: "payer", table: "counters", key: expression("input.from"))],
                  checks: [.init(condition: expression("(payer.n ?? 0) >= input.amount"), code: "rejected", reason: "too little")],
                  writes: [.init(op: .incr, table: "counters", key: expression("input.from"), value: nil, field: "n", by: expression("-input.amount"))],
                  undo: [.init(op: .incr, table: "counters", key: expression("input.from"), value: nil, field: "n", by: expression("input.amount"))]),
            .init(name: "credit", at: Lookup(name: "", table: "counters", key: expression("input.to")),
                  reads: [Lookup(name: "payee", table: "counters", key: expression("input.to"))],
                  checks: [.init(condition: expression("payee != null"), code: "rejected", reason: "no payee")],
                  writes: [.init(op: .incr, table: "counters", key: expression("input.to"), value: nil, field: "n", by: expression("input.amount * \(creditFactor)"))],
                  undo: []),
        ])
        return declarations
    }

    static func audit(_ h: EngineHarness) throws -> AuditReport {
        h.engine.close()
        let scratch = NSTemporaryDirectory() + "eddy-audit-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        return try Auditor.audit(dataDirectory: h.directory, declarations: declarations(), scratchDirectory: scratch)
    }

    static func harness() throws -> EngineHarness {
        try EngineHarness { configuration in
            configuration.tables = ["users", "stock", "counters", "outcomes"]
            configuration.declarations = declarations()
            configuration.fanOutTimeoutSeconds = 1
        }
    }

    /// Two keys in different partitions.
    static func keysInDifferentPartitions(_ h: EngineHarness) -> (a: String, b: String) {
        for n in 0..<100 where h.partition(of: "stock", "b\(n)") != h.partition(of: "users", "a") { return ("a", "b\(n)") }
        preconditionFailure("no key in another partition")
    }

    @Test func query_combinesPartsFromTheirPartitions() async throws {
        let h = try Self.harness()
        let (a, b) = Self.keysInDifferentPartitions(h)
        _ = try await h.send(["op": "put", "table": "users", "key": .string(a), "value": ["n": 2]])
        _ = try await h.send(["op": "put", "table": "stock", "key": .string(b), "value": ["n": 40]])
        let answer = try await h.result(["op": "query", "query": "pair", "input": ["a": .string(a), "b": .string(b)]])
        #expect(answer["value"]?["sum"] == 42)
    }

    @Test func query_whenAPartsPartitionIsDown_failsWithPartialFailure_namingThePart() async throws {
        let h = try Self.harness()
        let (a, b) = Self.keysInDifferentPartitions(h)
        _ = try await h.send(["op": "put", "table": "stock", "key": .string(b), "value": ["n": 40]])
        try h.damageLogRecord(partition: h.partition(of: "stock", b), offset: 1)
        try h.restart()
        let result = try await h.send(["op": "query", "query": "pair", "input": ["a": .string(a), "b": .string(b)]])
        #expect(result.error?.code == .partialFailure)
        #expect(result.error?.message.contains("part 'y'") == true, "\(result.error?.message ?? "")")
        #expect(try JSON(parsing: result.body)["value"] == nil, "no partial answer")
    }

    /// A call whose later stage cannot land (its partition refuses to serve) is logged and
    /// keeps being delivered, but its caller is not held past `callOutcomeTimeoutSeconds`.
    @Test func call_whoseOutcomeIsNotRecordedInTime_answersCallPending_namingWhereToLook() async throws {
        let h = try Self.harness()
        var to = "to"
        for n in 0..<100 where h.partition(of: "counters", "to\(n)") != h.partition(of: "counters", "from") {
            to = "to\(n)"
            break
        }
        _ = try await h.send(["op": "put", "table": "counters", "key": "from", "value": ["n": 100]])
        _ = try await h.send(["op": "put", "table": "counters", "key": .string(to), "value": ["n": 0]])
        try h.damageLogRecord(partition: h.partition(of: "counters", to), offset: 1)
        try h.restart { $0.callOutcomeTimeoutSeconds = 0.3 }
        let started = ContinuousClock.now
        // Polled rather than awaited, so a caller held forever fails the test instead of hanging it.
        let answer = Mutex<EventResult?>(nil)
        Task {
            let result = try await h.send(["op": "call", "id": "m-late", "procedure": "move", "input": ["from": "from", "to": .string(to), "amount": 5]])
            answer.withLock { $0 = result }
        }
        while answer.withLock({ $0 }) == nil && ContinuousClock.now - started < .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
        let result = try #require(answer.withLock { $0 }, "no answer within 5 s")
        #expect(result.error?.code == .callPending, "\(result.body)")
        #expect(result.error?.message.contains("outcomes/m-late") == true)
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(ContinuousClock.now - started < .seconds(3))
        let debited = try await h.result(["op": "get", "table": "counters", "key": "from"])
        #expect(debited["value"]?["n"] == 95, "the first stage is applied all the same")
    }

    @Test func gather_withADeadline_returnsWhatArrived_andNilForTheRest() async {
        let deadlines = Deadlines(resolution: .milliseconds(10))
        defer { deadlines.stop() }
        let gather = Gather(count: 2)
        gather.deliver(.failure(EddyError(.overloaded, "first")), at: 0)
        let started = ContinuousClock.now
        let replies: [PartitionReply?] = await withCheckedContinuation { continuation in
            gather.whenComplete(by: .now + .milliseconds(50), deadlines: deadlines) { continuation.resume(returning: $0) }
        }
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        #expect(replies.count == 2)
        #expect(replies[1] == nil)
        if case .failure(let error)? = replies[0] { #expect(error.message == "first") } else { Issue.record("first reply lost") }
        gather.deliver(.failure(EddyError(.overloaded, "late")), at: 1)  // after the deadline: ignored, no crash
        #expect(deadlines.count == 0)
    }

    @Test func deadlines_whenStopped_expireWhatIsStillWatched() {
        let deadlines = Deadlines(resolution: .milliseconds(10))
        let expired = Atomic<Int>(0)
        _ = deadlines.watch(until: .now + .seconds(3600)) { expired.add(1, ordering: .relaxed) }
        deadlines.stop()
        let count = expired.load(ordering: .relaxed)
        #expect(count == 1, "a caller would wait forever on a stopped engine")
    }

    @Test func gather_completeBeforeItsDeadline_isNoLongerWatched() async {
        let deadlines = Deadlines(resolution: .milliseconds(10))
        defer { deadlines.stop() }
        let gather = Gather(count: 1)
        let expired = Atomic<Bool>(false)
        gather.whenComplete(by: .now + .milliseconds(30), deadlines: deadlines) { replies in
            if replies[0] == nil { expired.store(true, ordering: .relaxed) }
        }
        #expect(deadlines.count == 1)
        gather.deliver(.failure(EddyError(.overloaded, "on time")), at: 0)
        #expect(deadlines.count == 0)
        try? await Task.sleep(for: .milliseconds(80))
        let didExpire = expired.load(ordering: .relaxed)
        #expect(!didExpire)
    }

    /// A crash can leave an emitted event in the outbox (its stage committed, its target not
    /// yet). At start-up it is delivered; delivered twice, it still applies once.
    @Test func outbox_leftAtStartup_isDelivered_andAppliedOnceEvenWhenDeliveredTwice() async throws {
        let h = try Self.harness()
        _ = try await h.send(["op": "put", "table": "counters", "key": "from", "value": ["n": 100]])
        _ = try await h.send(["op": "put", "table": "counters", "key": "to", "value": ["n": 0]])
        // The credit stage of call m1, as the debit stage would have emitted it.
        var credit = Event(id: Event.derivedID("m1", "credit"), op: .call, table: "")
        credit.name = "move"
        credit.input = ["from": "from", "to": "to", "amount": 7]
        credit.progress = ["stage": 1, "undo": false, "done": ["debit: applied"]]
        let emitted = Emitted(partition: h.partition(of: "counters", "to"), event: credit)
        func leaveInOutbox() throws {
            try h.withClosedStore { database, _ in
                let batch = WriteBatch()
                batch.put(database.columnFamily(StoreLayout.outbox), key: Array(credit.id!.utf8), value: StoreLayout.outboxEntry(emitted))
                try database.write(batch, sync: true)
            }
        }
        func outboxCount() throws -> Int {
            try h.withClosedStore { database, _ in
                var count = 0
                try database.scan(database.columnFamily(StoreLayout.outbox), from: [UInt8](), to: nil) { _, _ in count += 1; return true }
                return count
            }
        }
        func waitForOutcome() async throws -> JSON {
            for _ in 0..<200 {
                let read = try await h.result(["op": "get", "table": "outcomes", "key": "m1"])
                if read["found"] == true { return read["value"]! }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw EngineHarness.DamageFailed(description: "outcome of m1 never recorded")
        }

        try leaveInOutbox()
        // The audit counts it as pending, not as a problem.
        let pending = try Self.audit(h)
        #expect(pending.isClean, "\(pending.partitions.flatMap(\.problems))")
        #expect(pending.partitions[emitted.partition].pendingEmitted == 1)
        try h.restart()
        let outcome = try await waitForOutcome()
        #expect(outcome["status"] == "applied")
        #expect(outcome["stages"] == ["debit: applied", "credit: applied"])
        #expect(try await h.result(["op": "get", "table": "counters", "key": "to"])["value"]?["n"] == 7)
        #expect(try outboxCount() == 0, "delivered events leave the outbox")

        // The same event again, though applied: the audit reports the inconsistency, and a
        // start delivers it again, harmlessly.
        try leaveInOutbox()
        let inconsistent = try Self.audit(h)
        #expect(inconsistent.partitions[emitted.partition].problems.contains { $0.contains("still in the outbox") })
        try h.restart()
        for _ in 0..<100 where try await h.result(["op": "get", "table": "counters", "key": "to"])["value"]?["n"] != 7 {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await h.result(["op": "get", "table": "counters", "key": "to"])["value"]?["n"] == 7, "credit applied twice")
        #expect(try outboxCount() == 0)
    }

    @Test func audit_rerunsProcedureStages_andNoticesADifferentDeclaration() async throws {
        let h = try Self.harness()
        _ = try await h.send(["op": "put", "table": "counters", "key": "from", "value": ["n": 100]])
        _ = try await h.send(["op": "put", "table": "counters", "key": "to", "value": ["n": 0]])
        for n in 0..<5 {
            let result = try await h.result(["id": .string("m\(n)"), "op": "call", "procedure": "move", "input": ["from": "from", "to": "to", "amount": 30]])
            #expect(result["outcome"]?["status"] == (n < 3 ? "applied" : "rejected"), "\(result.serializedString)")
        }
        h.engine.close()
        let scratch = NSTemporaryDirectory() + "eddy-audit-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let clean = try Auditor.audit(dataDirectory: h.directory, declarations: Self.declarations(), scratchDirectory: scratch + "/a")
        #expect(clean.isClean, "\(clean.partitions.flatMap(\.problems))")
        let other = try Auditor.audit(dataDirectory: h.directory, declarations: Self.declarations(creditFactor: "2"), scratchDirectory: scratch + "/b")
        #expect(!other.isClean, "a credit of twice the amount should not re-derive the recorded outcomes")
    }

    @Test func call_whenALaterStageIsRejected_undoesTheEarlierOnes_andRecordsEveryStage() async throws {
        let h = try Self.harness()
        _ = try await h.send(["op": "put", "table": "counters", "key": "from", "value": ["n": 100]])
        let result = try await h.send(["id": "u1", "op": "call", "procedure": "move", "input": ["from": "from", "to": "missing", "amount": 30]])
        #expect(result.error?.code == .rejected)
        let body = try JSON(parsing: result.body)
        #expect(body["outcome"]?["stages"] == ["debit: applied", "credit: rejected", "debit: undone"])
        #expect(body["outcome"]?["error"]?["message"] == "no payee")
        #expect(try await h.result(["op": "get", "table": "counters", "key": "from"])["value"]?["n"] == 100, "the debit was not undone")
        #expect(try await h.result(["op": "get", "table": "counters", "key": "missing"])["found"] == false)
        // The outcome is recorded under the request ID, and a retry returns it unchanged.
        #expect(try await h.result(["op": "get", "table": "outcomes", "key": "u1"])["value"] == body["outcome"])
        let retry = try await h.send(["id": "u1", "op": "call", "procedure": "move", "input": ["from": "from", "to": "missing", "amount": 30]])
        #expect(retry.body == result.body)
        #expect(try await h.result(["op": "get", "table": "counters", "key": "from"])["value"]?["n"] == 100)
    }

    @Test func call_whoseStageTouchesAnotherPartition_isRejectedBeforeAnyWrite() async throws {
        let h = try EngineHarness { configuration in
            configuration.tables = ["counters", "outcomes"]
            var declarations = Declarations()
            // Declared wrongly: the stage runs at input.a but writes input.b.
            declarations.procedures["bad"] = ProcedureDeclaration(
                name: "bad", input: [InputField(name: "a", kind: .string), InputField(name: "b", kind: .string)], outcomes: "outcomes",
                stages: [.init(name: "only", at: Lookup(name: "", table: "counters", key: Self.expression("input.a")), reads: [], checks: [],
                               writes: [.init(op: .put, table: "counters", key: Self.expression("input.b"), value: .expression(Self.expression("1")), field: nil, by: nil)],
                               undo: [])]
            )
            configuration.declarations = declarations
        }
        var other = "b"
        for n in 0..<100 where h.partition(of: "counters", "b\(n)") != h.partition(of: "counters", "a") {
            other = "b\(n)"
            break
        }
        let result = try await h.send(["id": "x1", "op": "call", "procedure": "bad", "input": ["a": "a", "b": .string(other)]])
        #expect(result.error?.code == .expressionFailed)
        #expect(result.error?.message.contains("lives in another partition") == true, "\(result.error?.message ?? "")")
        #expect(try await h.result(["op": "get", "table": "counters", "key": .string(other)])["found"] == false)
    }
}
