import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Testing

@Suite(.serialized) struct ConfigurationTests {
    @Test func serve_withNoConfig_runsTheEmbeddedDefault_withItsDemoTables() async throws {
        let server = try ServerProcess(config: nil)
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        for table in ["users", "counters", "orders", "stock", "usernames", "accounts", "transfers", "ip_reputation", "email_reputation", "address_reputation"] {
            let result = try await client.put(table, "k", ["declared": true])
            #expect(result["ok"] == true, "table \(table)")
        }
        await client.close()
    }

    @Test func serve_withABadConfig_refusesToStart_namingFileLineAndReason() async throws {
        let directory = try TemporaryDirectory.make(prefix: "eddy-config-test")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.yaml"
        try """
            storage:
              partitions: 8
              partiton: 4
            tables:
              - name: users
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try await CLI.run(["serve", "--config", path, "--data-dir", directory + "/data", "--listen", "127.0.0.1:0"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("bad.yaml:3"), "\(run.stderr)")
        #expect(run.stderr.contains("unknown key 'partiton'"))

        try """
            tables:
              - name: Not-Valid
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let badTable = try await CLI.run(["serve", "--config", path, "--data-dir", directory + "/data", "--listen", "127.0.0.1:0"])
        #expect(badTable.status != 0)
        #expect(badTable.stderr.contains("bad.yaml:2"), "\(badTable.stderr)")
    }
}
