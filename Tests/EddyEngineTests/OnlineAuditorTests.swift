@testable import EddyEngine
import EddyModel
import Foundation
import Testing

/// `Engine.audit`: a checkpoint of the running engine's data, audited on a thread of its own.
@Suite struct OnlineAuditorTests {
    @Test func audit_ofARunningEngine_isClean_andIsTheLastResult() async throws {
        let h = try EngineHarness()
        try await AuditTests.fill(h)
        let applied = (0..<h.configuration.partitions).reduce(UInt64(0)) { $0 + h.engine.appliedOffset(partition: $1) }
        let run = try await h.engine.audit(trigger: .request).get()
        #expect(run.ok, "\(run.problems)")
        #expect(run.report?.recordsVerified == applied)
        #expect(h.engine.lastAudit?.finished == run.finished)
        #expect(h.engine.auditTotals == (runs: 1, failures: 0, running: false))
        // The engine still serves, and its checkpoint is gone.
        #expect(try await h.result(["op": "get", "table": "users", "key": "k1"])["found"] == true)
        #expect(!FileManager.default.fileExists(atPath: h.directory + "/audit"))
    }

    @Test func audit_ofARunningEngineWithRetention_rederivesFromTheSnapshot_andSaysSo() async throws {
        let h = try BaseSnapshotTests.harness()
        try await BaseSnapshotTests.fill(h)
        let run = try await h.engine.audit(trigger: .request).get()
        #expect(run.ok, "\(run.problems)")
        // What GET /v1/audit and `eddy audit --server` show.
        let partitions = try #require(run.json["partitions"]?.arrayValue)
        #expect(partitions.count == 2)
        for partition in partitions {
            #expect(partition["stateRederived"] == true)
            #expect(partition["stateRederivedFrom"]?.stringValue?.hasPrefix("a verified snapshot at offset") == true)
            #expect(partition["snapshotOffset"]?.numberValue == (partition["firstOffset"]?.numberValue).map { $0 - 1 })
        }
    }

    @Test func audit_whoseTaskIsCancelled_stops_andIsNotRecorded() async throws {
        let h = try EngineHarness()
        try await AuditTests.fill(h)
        let task = Task { await h.engine.audit(trigger: .request) }
        task.cancel()
        _ = try await task.value.get()
        #expect(h.engine.lastAudit == nil)
        #expect(h.engine.auditTotals.runs == 0)
        #expect(try await h.engine.audit(trigger: .request).get().ok)
    }

    @Test func audit_afterClose_isRefusedWithShuttingDown() async throws {
        let h = try EngineHarness()
        let running = Task { await h.engine.audit(trigger: .background) }
        h.engine.close()  // waits for a running audit's thread, stopping it
        _ = await running.value
        let refused = await h.engine.audit(trigger: .request)
        #expect(throws: EddyError(.shuttingDown, "the server is shutting down")) { try refused.get() }
    }
}
