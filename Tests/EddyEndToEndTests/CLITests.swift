import EddyModel
import EddyTestSupport
import Foundation
import Testing

@Suite(.serialized) struct CLITests {
    @Test func clientCommands_printOneJSONLine_andFailLoudly() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let s = ["--server", server.url]

        let put = try await CLI.run(["put", "users", "bob", #"{"name":"Bob"}"#, "--id", "cli-1"] + s)
        #expect(put.status == 0)
        #expect(put.lines.count == 1)
        #expect(try put.json()["ok"] == true)

        let get = try await CLI.run(["get", "users", "bob", "--client", "cli-test"], environment: ["EDDY_SERVER": server.url])
        #expect(try get.json()["value"] == ["name": "Bob"])

        let incr = try await CLI.run(["incr", "counters", "c", "n", "2.5"] + s)
        #expect(try incr.json()["value"] == ["n": 2.5])

        let patch = try await CLI.run(["patch", "users", "bob", #"{"age":40}"#] + s)
        #expect(try patch.json()["value"] == ["name": "Bob", "age": 40])

        let conflict = try await CLI.run(["insert", "users", "bob", "{}"] + s)
        #expect(conflict.status != 0)
        #expect(conflict.stdout.isEmpty)
        #expect(conflict.stderr.contains("conflict"))

        let scan = try await CLI.run(["scan", "users", "--prefix", "b"] + s)
        #expect(try scan.json()["items"]?.arrayValue?.count == 1)

        let delete = try await CLI.run(["delete", "users", "bob"] + s)
        #expect(try delete.json()["deleted"] == true)

        let badJSON = try await CLI.run(["put", "users", "x", "{nope"] + s)
        #expect(badJSON.status != 0)
        #expect(badJSON.stderr.contains("not valid JSON"))

        let unreachable = try await CLI.run(["get", "users", "x", "--server", "http://127.0.0.1:1"])
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("cannot reach the server"))
    }

    @Test func subscribe_printsSnapshotThenChanges_andResumesFromACursor() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        try await client.put("users", "ann", ["n": 1])
        let url = server.url
        let follower = Task.detached { try await CLI.run(["subscribe", "users", "--prefix", "an", "--count", "3", "--server", url]) }
        // Wait until it is attached, so the changes below come after its snapshot.
        for _ in 0..<100 {
            let metrics = String(decoding: try await client.request(method: "GET", path: "/metrics").body, as: UTF8.self)
            if metrics.contains("\neddy_subscriptions 1") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await client.put("users", "andy", ["n": 2])
        try await client.patch("users", "ann", ["m": 3])
        let run = try await follower.value
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = try run.lines.map { try JSON(parsing: $0) }
        #expect(lines.map { $0["kind"] } == ["snapshot", "put", "patch"])
        #expect(lines.map { $0["key"] } == ["ann", "andy", "ann"])
        #expect(lines[2]["value"] == ["n": 1, "m": 3])

        // Resuming after the snapshot's cursor replays the two changes, not the snapshot
        // (in either order: they are in different partitions).
        let resumed = try await CLI.run(["subscribe", "users", "--prefix", "an", "--from", try #require(lines.first?["cursor"]?.stringValue), "--count", "2", "--server", url])
        #expect(Set(try resumed.lines.map { try JSON(parsing: $0)["kind"]?.stringValue ?? "" }) == ["put", "patch"])

        let unknown = try await CLI.run(["subscribe", "nope", "--server", url])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown_table"))
        let both = try await CLI.run(["subscribe", "users", "ann", "--prefix", "a", "--server", url])
        #expect(both.status != 0)
        #expect(both.stderr.contains("not both"))
        await client.close()
    }

    @Test func send_printsOneResultPerLineInOrder_includingErrors() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let input = """
            {"id":"s1","op":"incr","table":"counters","key":"s","field":"n"}
            {"op":"incr","table":"counters","key":"s","field":"n"}
            this is not json
            {"op":"get","table":"counters","key":"s"}

            {"id":"s1","op":"incr","table":"counters","key":"s","field":"n"}
            """
        let run = try await CLI.run(["send", "--server", server.url, "--batch-size", "2"], stdin: input)
        let results = try run.lines.map { try JSON(parsing: $0) }
        #expect(results.count == 5)
        #expect(results[0]["value"] == ["n": 1])
        #expect(results[1]["value"] == ["n": 2])
        #expect(results[2]["error"]?["code"] == "malformed_json")
        #expect(results[3]["value"] == ["n": 2])
        #expect(results[4] == results[0])
        #expect(run.status != 0, "a failed line makes the exit status non-zero")
    }
}

@Suite(.serialized) struct AuditCLITests {
    @Test func audit_ofAStoppedServersData_exitsZero_andRefusesWhileItRuns() async throws {
        let server = try ServerProcess()
        try await server.start()
        let client = try server.client()
        for index in 0..<20 {
            try await client.incr("counters", "c\(index % 3)", field: "n", id: "audit-\(index)")
        }
        await client.close()

        let whileRunning = try await CLI.run(["audit", "--data-dir", server.dataDirectory])
        #expect(whileRunning.status != 0)
        #expect(whileRunning.stderr.contains("server running"))

        server.stop()
        let audit = try await CLI.run(["audit", "--data-dir", server.dataDirectory])
        #expect(audit.status == 0, "\(audit.stderr)")
        let lines = try audit.lines.map { try JSON(parsing: $0) }
        #expect(lines.count == 9, "8 partitions and a summary")
        #expect(lines.last?["ok"] == true)
        #expect(lines.last?["recordsVerified"] == 20)

        let missing = try await CLI.run(["audit", "--data-dir", server.dataDirectory + "-nope"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no Eddy data directory"))
    }
}
