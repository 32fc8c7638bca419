@testable import EddyEngine
import EddyModel
import Foundation
import Testing

/// Read-record retention: reads older than it are pruned to stubs, writes never are, and
/// everything that reads the log copes with the stubs.
@Suite struct ReadPruningTests {
    static func harness(retentionSeconds: Int = 2, _ adjust: (inout EngineConfiguration) -> Void = { _ in }) throws -> EngineHarness {
        try EngineHarness {
            $0.partitions = 1
            $0.readRecordRetentionSeconds = retentionSeconds
            adjust(&$0)
        }
    }

    /// Waits (at most 15 s) until provenance says `id` expired.
    static func waitUntilPruned(_ h: EngineHarness, _ id: String) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while try await h.engine.provenance(of: id, depth: 0).get()["expired"] != true {
            guard ContinuousClock.now < deadline else {
                Issue.record("read \(id) was not pruned within 15 s")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test func readsPastRetention_arePruned_writesNever_andProvenanceSaysTheyExpired() async throws {
        let h = try Self.harness()
        _ = try await h.result(["id": "w1", "op": "put", "table": "users", "key": "a", "value": ["n": 1]])
        _ = try await h.result(["id": "r1", "op": "get", "table": "users", "key": "a", "client": "alice"])
        let unnamed = try #require(try await h.result(["op": "get", "table": "users", "key": "a", "client": "alice"])["id"]?.stringValue)
        _ = try await h.result(["id": "o1", "op": "put", "table": "stock", "key": "o", "value": 1, "causedBy": ["r1", .string(unnamed)]])
        try await Self.waitUntilPruned(h, "r1")
        try await Self.waitUntilPruned(h, unnamed)

        let expired = try await h.engine.provenance(of: "r1", depth: 0).get()
        #expect(expired["found"] == false)
        #expect(expired["message"]?.stringValue?.contains("storage.readRecordRetentionSeconds") == true)
        // Writes stay, and say their causes expired.
        let order = try await h.engine.provenance(of: "o1", depth: 2).get()
        #expect(order["found"] == true)
        #expect(order["causedBy"]?.arrayValue?.map { $0["expired"] } == [true, true])
        #expect(try await h.engine.provenance(of: "w1", depth: 0).get()["found"] == true)
        // A recent read still answers.
        let r2Sent = ContinuousClock.now
        _ = try await h.result(["id": "r2", "op": "get", "table": "users", "key": "a", "client": "alice"])
        let recent = try await h.engine.provenance(of: "r2", depth: 0).get()
        #expect(recent["records"]?.arrayValue?.first?["answer"] == ["n": 1])
        // The client's listing holds only the recent read, and says older ones are pruned.
        let listing = try await h.engine.reads(ofClient: "alice", fromMs: 0, toMs: UInt64.max, limit: 100).get()
        #expect(listing["reads"]?.arrayValue?.count == 1)
        #expect(listing["reads"]?.arrayValue?.first?["event"]?["id"] == "r2")
        #expect(listing["expiredBeforeMs"] != nil)
        // Retries: the pruned read's outcome is gone, and it is not run again; writes replay.
        let retry = try await h.send(["id": "r1", "op": "get", "table": "users", "key": "a", "client": "alice"])
        #expect(retry.error?.code == .outcomeExpired)
        #expect(try await h.send(["id": "r1", "op": "get", "table": "users", "key": "b"]).error?.code == .idReused)
        let write = try await h.send(["id": "w1", "op": "put", "table": "users", "key": "a", "value": ["n": 1]])
        #expect(write.error == nil && write.replayed)

        // r1 and the unnamed read are pruned; r2 too only if a slow machine took longer than
        // its retention (2 s) to get through the audit.
        let report = try AuditTests.audit(h)
        let r2MayHaveExpired = ContinuousClock.now - r2Sent >= .seconds(2)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        #expect((2...(r2MayHaveExpired ? 3 : 2)) ~= report.partitions[0].recordsPruned)
        #expect(report.partitions[0].stateRederived)
    }

    @Test func prunedReadAtTheTail_survivesARestart_andTheLogGoesOn() async throws {
        let h = try Self.harness()
        _ = try await h.result(["op": "put", "table": "users", "key": "a", "value": 1])
        let read = try #require(try await h.result(["op": "get", "table": "users", "key": "a"])["id"]?.stringValue)
        try await Self.waitUntilPruned(h, read)
        // Opening the log verifies its tail, which is now a stub.
        try h.restart()
        #expect(h.engine.partitionHealth == [.serving])
        #expect(try await h.result(["op": "incr", "table": "counters", "key": "c", "field": "n"])["ok"] == true)
        let report = try AuditTests.audit(h)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        #expect(report.partitions[0].recordsPruned == 1)
    }

    @Test func subscriberResumingAcrossPrunedReads_getsEveryChange() async throws {
        let h = try Self.harness()
        var lastRead = ""
        for n in 1...3 {
            _ = try await h.result(["op": "put", "table": "users", "key": "k", "value": .number(Double(n))])
            lastRead = try #require(try await h.result(["op": "get", "table": "users", "key": "k"])["id"]?.stringValue)
        }
        try await Self.waitUntilPruned(h, lastRead)
        let event = try Event(json: ["op": "subscribe", "table": "users", "key": "k", "from": .string(Position(partition: 0, offset: 0).token)], limits: Limits())
        let outbox = SubscriptionOutbox(capacity: 64)
        _ = try await h.engine.subscribe(event, outbox: outbox).get()
        var values: [JSON] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while values.count < 3, ContinuousClock.now < deadline {
            for message in try await withTimeout(.seconds(10), { await outbox.next() }) ?? [] {
                if case .change(let change) = message, let value = change.value { values.append(try JSON(parsing: value)) }
                if case .ended(_, let error) = message { throw error }
            }
        }
        #expect(values == [1, 2, 3])
    }

    @Test func pruningWithLogRetention_foldsAcrossStubs_andAuditsFromTheSnapshot() async throws {
        let h = try Self.harness(retentionSeconds: 1) { $0.retainedRecordsPerPartition = 10 }
        var lastRead = ""
        for n in 0..<600 {
            _ = try await h.send(["id": .string("w\(n)"), "op": "incr", "table": "counters", "key": .string("c\(n % 3)"), "field": "n"])
            lastRead = try #require(try await h.result(["op": "get", "table": "counters", "key": .string("c\(n % 3)"), "client": "bob"])["id"]?.stringValue)
        }
        try await Self.waitUntilPruned(h, lastRead)
        for n in 600..<1200 { _ = try await h.send(["id": .string("w\(n)"), "op": "incr", "table": "counters", "key": .string("c\(n % 3)"), "field": "n"]) }
        for key in 0..<3 { #expect(try await h.result(["op": "get", "table": "counters", "key": .string("c\(key)")])["value"] == ["n": 400]) }
        let report = try AuditTests.audit(h)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        #expect(report.partitions[0].snapshotOffset != nil)
        #expect(report.partitions[0].firstOffset > 1)
    }
}
