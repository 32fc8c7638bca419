import EddyClient
@testable import EddyEngine
import EddyModel
import EddyStorage
import EddyTestSupport
import Foundation
import Synchronization
import Testing

/// Online audit of a running server (`POST /v1/audit`, `eddy audit --server`) and the
/// background auditor, through real server processes.
@Suite(.serialized) struct OnlineAuditTests {
    @Test func onlineAudit_ofAServerUnderWrites_isClean_viaCLIAndHTTP() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let writes = WriteCount()
        let writers = Task {
            try await Self.writeUntilCancelled(server, counting: writes)
        }
        while writes.value.load(ordering: .relaxed) < 200 { try await Task.sleep(for: .milliseconds(10)) }

        let before = writes.value.load(ordering: .relaxed)
        let cli = try await CLI.run(["audit", "--server", server.url])
        let during = writes.value.load(ordering: .relaxed) - before
        #expect(cli.status == 0, "\(cli.stderr)")
        let lines = try cli.lines.map { try JSON(parsing: $0) }
        #expect(lines.count == 9)  // one per partition, then the summary
        #expect(lines.dropLast().allSatisfy { $0["ok"] == true && $0["stateRederived"] == true })
        #expect(lines.last?["ok"] == true)
        #expect((lines.last?["recordsVerified"]?.numberValue ?? 0) >= 200)
        #expect(during > 0, "writes went on while the audit ran")

        let client = try server.client()
        let report = try await client.audit()
        #expect(report["ok"] == true, "\(report.serializedString)")
        #expect(report["partitions"]?.arrayValue?.count == 8)
        #expect(report["trigger"] == "request")
        #expect(try await client.lastAudit()["finishedAt"] == report["finishedAt"])

        writers.cancel()
        _ = try? await writers.value
        let health = try await client.health()
        #expect(health.status == 200)
        #expect(health.body["audit"]?["ok"] == true)
        let metrics = try await Self.metrics(client)
        #expect(metrics.contains("eddy_audit_runs_total 2"))
        #expect(metrics.contains("eddy_audit_failures_total 0"))
        #expect(metrics.contains("eddy_audit_last_ok 1"))
        // The checkpoint and scratch store are gone once the audit is done.
        #expect(!FileManager.default.fileExists(atPath: server.dataDirectory + "/audit"))
        await client.close()
    }

    @Test func onlineAudit_whenAStateValueWasChangedBehindTheLog_namesThePartitionAndKey_inReportHealthAndMetrics() async throws {
        let server = try ServerProcess(config: ServerProcess.defaultTestConfig + "\naudit:\n  intervalSeconds: 1\n")
        try await server.start()
        let client = try server.client()
        for index in 0..<40 {
            try await client.put("users", "k\(index)", ["n": .number(Double(index))])
            try await client.incr("counters", "c\(index % 5)", field: "n")
        }
        // The background auditor finds the untouched data clean.
        let clean = try await Self.waitForBackgroundAudit(client) { _ in true }
        #expect(clean["ok"] == true, "\(clean.serializedString)")
        await client.close()
        server.stop()

        let partition = Partitioner(count: 8).partition(table: "users", key: "k7")
        try Self.overwriteState(dataDirectory: server.dataDirectory, partition: partition, table: "users", key: "k7", json: #"{"n":700}"#)
        try await server.start()
        defer { server.stop() }
        let restarted = try server.client()

        // Online, on request: the CLI exits non-zero and names the partition and key. The
        // background auditor may be running just then; a client waits and asks again.
        var cli = try await CLI.run(["audit", "--server", server.url])
        for _ in 0..<50 where cli.stderr.contains("audit_running") {
            try await Task.sleep(for: .milliseconds(100))
            cli = try await CLI.run(["audit", "--server", server.url])
        }
        #expect(cli.status != 0)
        #expect(cli.stderr.contains("audit failed for partition(s) \(partition)"), "\(cli.stderr)")
        let damaged = try cli.lines.map { try JSON(parsing: $0) }.filter { $0["ok"] == false && $0["partition"] != nil }
        #expect(damaged.count == 1)
        #expect(damaged.first?["partition"] == .number(Double(partition)))
        #expect(damaged.first?["firstDifference"] == "users/k7")

        // In the background: /health turns degraded and names it, /metrics counts it.
        let found = try await Self.waitForBackgroundAudit(restarted) { $0["ok"] == false }
        let problems = found["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(problems.contains { $0.hasPrefix("partition \(partition):") && $0.contains("users/k7") }, "\(problems)")
        let health = try await restarted.health()
        #expect(health.status == 503)
        #expect(health.body["status"] == "degraded")
        let metrics = try await Self.metrics(restarted)
        #expect(metrics.contains("eddy_audit_last_ok 0"))
        #expect(!metrics.contains("eddy_audit_failures_total 0\n"))

        // The HTTP report says the same.
        let report = try await restarted.lastAudit()
        #expect(report["ok"] == false)
        let partitionReport = report["partitions"]?.arrayValue?.first { $0["partition"] == .number(Double(partition)) }
        #expect(partitionReport?["firstDifference"] == "users/k7")
        await restarted.close()
    }

    @Test func onlineAudit_requestedWhileOneRuns_getsAuditRunning() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        // Enough records that an audit lasts well beyond one poll of /metrics.
        for round in 0..<10 {
            let events: [JSON] = (0..<1000).map { ["op": "incr", "table": "counters", "key": .string("c\($0 % 64)"), "field": "n", "id": .string("r\(round)-\($0)")] }
            _ = try await client.send(batch: events)
        }
        let first = Task {
            let own = try server.client()
            let reply = try await own.request(method: "POST", path: "/v1/audit")
            await own.close()
            return reply
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while !(try await Self.metrics(client)).contains("eddy_audit_running 1") {
            try #require(ContinuousClock.now < deadline, "the first audit was never seen running")
            try await Task.sleep(for: .milliseconds(2))
        }
        let second = try await client.request(method: "POST", path: "/v1/audit")
        #expect(second.status == 409)
        #expect(try JSON(parsing: second.body)["error"]?["code"] == "audit_running")

        let firstReply = try await first.value
        #expect(firstReply.status == 200)
        #expect(try JSON(parsing: firstReply.body)["ok"] == true)
        // Once it is done, the next request runs.
        #expect(try await client.audit()["ok"] == true)
        await client.close()
    }

    @Test func lastAudit_beforeAnyAudit_isNotFound_andCLIRefusesBothModes() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        await #expect(throws: EddyError.self) { try await client.lastAudit() }
        let reply = try await client.request(method: "GET", path: "/v1/audit")
        #expect(reply.status == 404)
        #expect(try await client.health().body["audit"] == .null)
        await client.close()
        let both = try await CLI.run(["audit", "--server", server.url, "--data-dir", server.dataDirectory])
        #expect(both.status != 0)
        #expect(both.stderr.contains("not both"))
    }

    @Test func serve_withABadAuditSection_refusesToStart_namingFileLineAndReason() async throws {
        let directory = try TemporaryDirectory.make(prefix: "eddy-audit-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.yaml"
        for (yaml, line, reason) in [
            ("audit:\n  intervalSeconds: -5\n", 2, "outside 0...604800"),
            ("audit:\n  intervalSecs: 5\n", 2, "unknown key 'intervalSecs'"),
            ("tables:\n  - name: users\naudit:\n  intervalSeconds: soon\n", 4, "expected a whole number"),
        ] {
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let run = try await CLI.run(["serve", "--config", path, "--data-dir", directory + "/data", "--listen", "127.0.0.1:0"])
            #expect(run.status != 0)
            #expect(run.stderr.contains("bad.yaml:\(line)"), "\(run.stderr)")
            #expect(run.stderr.contains(reason), "\(run.stderr)")
        }
    }

    /// Writes puts, increments and reads from a few tasks until cancelled, counting acknowledged ones.
    private static func writeUntilCancelled(_ server: ServerProcess, counting writes: WriteCount) async throws {
        let client = try server.client()
        var index = 0
        while !Task.isCancelled {
            try await client.put("users", "u\(index % 50)", ["n": .number(Double(index))])
            try await client.incr("counters", "c\(index % 7)", field: "n")
            _ = try await client.get("users", "u\(index % 50)", client: "audit-test")
            index += 1
            writes.value.add(2, ordering: .relaxed)
        }
        await client.close()
    }

    private static func metrics(_ client: EddyClient) async throws -> String {
        String(decoding: try await client.request(method: "GET", path: "/metrics").body, as: UTF8.self)
    }

    /// Polls /health until a background audit has finished and its summary satisfies `accept`.
    private static func waitForBackgroundAudit(_ client: EddyClient, _ accept: (JSON) -> Bool) async throws -> JSON {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let audit = try await client.health().body["audit"], audit["trigger"] == "background", accept(audit) { return audit }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerProcess.Failure("no background audit within 30 s")
    }

    /// Rewrites one stored value in a stopped server's data directory, behind the log's back.
    private static func overwriteState(dataDirectory: String, partition: Int, table: String, key: String, json: String) throws {
        let database = try Database(path: dataDirectory, columnFamilies: StoreLayout.columnFamilies)
        defer { database.close() }
        let stateKey = StoreLayout.stateKey(partition: partition, table: table, key: key)
        let family = database.columnFamily(StoreLayout.state)
        #expect(try database.get(family, key: stateKey) != nil, "the key to tamper with exists")
        let batch = WriteBatch()
        batch.put(family, key: stateKey, value: StoredValue(producedAt: 1, json: Array(json.utf8)).encoded())
        try database.write(batch, sync: true)
    }
}

private final class WriteCount: Sendable {
    let value = Atomic<Int>(0)
}
