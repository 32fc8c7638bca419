import EddyClient
import EddyModel
import EddyServer
import EddyTestSupport
import Foundation
import Testing

/// Retention through the public interface: read records pruned after their retention (410
/// `provenance_expired`, writes untouched, audit clean), and a `kill -9` under load with both
/// log and read-record retention, after which nothing acknowledged is lost or applied twice
/// and the offline audit re-derives state from the base snapshot.
@Suite(.serialized) struct RetentionEndToEndTests {
    static func config(retainedRecords: Int, readRetentionSeconds: Int) -> String {
        """
        storage:
          partitions: 2
          retainedRecordsPerPartition: \(retainedRecords)
          readRecordRetentionSeconds: \(readRetentionSeconds)
        tables:
          - name: users
          - name: counters
          - name: stock
          - name: orders
        """
    }

    static func provenancePath(_ id: String) -> String {
        "/v1/provenance/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)"
    }

    /// The offline audit of a stopped server's data, through the CLI, with its configuration.
    static func audit(_ server: ServerProcess) async throws -> (run: CLI.Run, lines: [JSON]) {
        var arguments = ["audit", "--data-dir", server.dataDirectory]
        if let config = server.configPath { arguments += ["--config", config] }
        let run = try await CLI.run(arguments)
        return (run, try run.lines.map { try JSON(parsing: $0) })
    }

    @Test func readRecordRetentionSeconds_isReadFromTheConfiguration_andBounded() throws {
        let thirtyDays = try ConfigurationLoader.load(yaml: "storage:\n  readRecordRetentionSeconds: 2592000\n", source: "t.yaml")
        #expect(thirtyDays.engine.readRecordRetentionSeconds == 2_592_000)
        #expect(try ConfigurationLoader.load(yaml: "storage:\n  partitions: 2\n", source: "t.yaml").engine.readRecordRetentionSeconds == 0)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(yaml: "storage:\n  readRecordRetentionSeconds: -1\n", source: "t.yaml")
        }
    }

    @Test func readsPastRetention_answer410ProvenanceExpired_recentReadsAndWritesStill_andAuditIsClean() async throws {
        // Three seconds: long enough that a read made just before its provenance is asked for
        // is still retained on a loaded machine, short enough to wait out.
        let server = try ServerProcess(config: Self.config(retainedRecords: 0, readRetentionSeconds: 3))
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        try await client.put("stock", "item1", ["count": 5], id: "stock-w1")
        let read = try #require(try await client.get("stock", "item1", client: "carol")["id"]?.stringValue)
        try await client.perform(["id": "order-1", "op": "put", "table": "orders", "key": "o1", "value": ["item": "item1"], "causedBy": [.string(read)]])

        // Pruned once older than the retention, by the worker's next maintenance tick.
        let path = Self.provenancePath(read)
        let deadline = ContinuousClock.now + .seconds(30)
        var reply = try await client.request(method: "GET", path: path)
        while reply.status != 410, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            reply = try await client.request(method: "GET", path: path)
        }
        #expect(reply.status == 410)
        let error = try JSON(parsing: reply.body)["error"]
        #expect(error?["code"] == "provenance_expired")
        #expect(error?["message"]?.stringValue?.contains("readRecordRetentionSeconds") == true)

        let cli = try await CLI.run(["provenance", read, "--server", server.url])
        #expect(cli.status != 0)
        #expect(cli.stderr.contains("provenance_expired"))
        // The order, a write, is never pruned; it says plainly that its cause expired.
        let order = try await CLI.run(["provenance", "order-1", "--server", server.url])
        #expect(order.status == 0, "\(order.stderr)")
        let orderJSON = try order.json()
        #expect(orderJSON["records"]?.arrayValue?.first?["kind"] == "write")
        #expect(orderJSON["causedBy"]?.arrayValue?.first?["expired"] == true)
        let write = try await CLI.run(["provenance", "stock-w1", "--server", server.url]).json()
        #expect(write["records"]?.arrayValue?.first?["changes"]?.arrayValue?.first?["value"] == ["count": 5])
        // A read made now still answers, with what it saw.
        let recent = try #require(try await client.get("stock", "item1", client: "carol")["id"]?.stringValue)
        let recentProvenance = try await client.request(method: "GET", path: Self.provenancePath(recent))
        #expect(recentProvenance.status == 200, "\(String(decoding: recentProvenance.body, as: UTF8.self))")
        #expect(try JSON(parsing: recentProvenance.body)["records"]?.arrayValue?.first?["answer"] == ["count": 5])
        await client.close()

        server.stop()
        let (run, lines) = try await Self.audit(server)
        #expect(run.status == 0, "\(run.stderr) \(run.stdout)")
        #expect(lines.last?["ok"] == true)
        #expect((lines.last?["recordsPruned"]?.numberValue ?? 0) >= 1)
    }

    @Test func killedUnderLoad_withLogAndReadRetention_losesNothingAcknowledged_andAuditsFromTheSnapshot() async throws {
        let server = try ServerProcess(config: Self.config(retainedRecords: 100, readRetentionSeconds: 1))
        try await server.start()
        defer { server.stop() }
        let plan = (0..<4).map { client in
            (0..<3000).map { n in (id: "rc\(client)-e\(n)", key: "k\((client * 5 + n) % 16)") }
        }
        let acknowledged = CrashTests.Acknowledged()

        // Load: incr with request IDs, each followed by a logged read, until the server dies.
        let url = server.url
        try await withThrowingTaskGroup(of: Void.self) { group in
            for events in plan {
                group.addTask {
                    let client = try EddyClient(url: url)
                    for event in events {
                        let incr: JSON = ["id": .string(event.id), "op": "incr", "table": "counters", "key": .string(event.key), "field": "n"]
                        guard let (status, result) = try? await client.send(incr) else { return }
                        if status == 200, result["ok"] == true { acknowledged.record(event.id, result.serialized()) }
                        guard (try? await client.get("counters", event.key, client: "loader")) != nil else { return }
                    }
                    await client.close()
                }
            }
            group.addTask {
                // Long enough after the first acknowledgements that reads pass their retention
                // and get pruned, and logs pass theirs and get folded and truncated.
                // Patience is generous: a loaded machine (a parallel build) acknowledges slowly.
                let patience = ContinuousClock.now + .seconds(150)
                while acknowledged.count < 20 && ContinuousClock.now < patience { try await Task.sleep(for: .milliseconds(5)) }
                let pruning = ContinuousClock.now + .seconds(2)
                while (acknowledged.count < 1500 || ContinuousClock.now < pruning) && ContinuousClock.now < patience {
                    try await Task.sleep(for: .milliseconds(5))
                }
                server.kill9()
            }
            try await group.waitForAll()
        }
        let acked = acknowledged.all
        let all = plan.flatMap { $0 }
        #expect(acked.count >= 1500, "enough load to truncate the logs before the kill (\(acked.count) acknowledged)")
        #expect(acked.count < all.count, "the kill should land mid-load")

        // Restart and retry everything with the same IDs: acknowledged events come back as
        // they were, or as applied-but-expired; none is applied again.
        try await server.start()
        let client = try server.client()
        var changed: [String] = []
        for start in stride(from: 0, to: all.count, by: 200) {
            let chunk = Array(all[start..<min(start + 200, all.count)])
            let results = try await client.send(batch: chunk.map { ["id": .string($0.id), "op": "incr", "table": "counters", "key": .string($0.key), "field": "n"] })
            for (event, result) in zip(chunk, results) {
                let expired = result["error"]?["code"] == "outcome_expired"
                #expect(result["ok"] == true || expired, "retry of \(event.id): \(result.serializedString)")
                if let first = acked[event.id], !expired, first != result.serialized() { changed.append(event.id) }
            }
        }
        #expect(changed.isEmpty, "acknowledged results changed on retry, e.g. \(changed.prefix(5))")
        var expected: [String: Int] = [:]
        for event in all { expected[event.key, default: 0] += 1 }
        for (key, count) in expected {
            #expect(try await client.get("counters", key)["value"]?["n"]?.numberValue == Double(count), "counter \(key)")
        }
        // Reads within the records the log keeps, pruned (in both partitions, each by its own
        // worker) before the audit, which counts them.
        var reads: [String] = []
        for n in 0..<40 { reads.append(try #require(try await client.get("counters", "k\(n % 16)", client: "auditor")["id"]?.stringValue)) }
        let deadline = ContinuousClock.now + .seconds(15)
        for read in reads {
            while try await client.request(method: "GET", path: "/v1/provenance/\(read)").status != 410, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        await client.close()

        server.stop()
        let (run, lines) = try await Self.audit(server)
        #expect(run.status == 0, "\(run.stderr) \(run.stdout)")
        let partitions = lines.dropLast()
        #expect(partitions.count == 2)
        for partition in partitions {
            #expect(partition["stateRederived"] == true)
            #expect(partition["stateRederivedFrom"]?.stringValue?.hasPrefix("a verified snapshot at offset") == true, "\(partition.serializedString)")
        }
        #expect((lines.last?["recordsPruned"]?.numberValue ?? 0) >= 40)
    }
}
