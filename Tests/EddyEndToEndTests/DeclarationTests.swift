import EddyClient
import EddyModel
import EddyServer
import EddyTestSupport
import Foundation
import Testing

/// Declarations in the configuration: errors at start-up name file, line and reason, and
/// the CLI runs queries and calls.
@Suite(.serialized) struct DeclarationTests {
    static let tables = """
        tables:
          - name: users
          - name: accounts
          - name: transfers
        """

    func loadError(_ yaml: String) -> String {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, source: "decl.yaml")
            return "loaded"
        } catch {
            return error.description
        }
    }

    @Test(arguments: [
        // (declarations, expected file:line, expected reason)
        ("""
        queries:
          q:
            input: { a: string }
            lookups:
              u: { table: users, key: input.a }
            result:
              total: u.score * (2 +
        """, "decl.yaml:11", "column 28: expected a value"),
        ("""
        queries:
          q:
            input: { a: string }
            lookups:
              u: { table: users, key: input.a }
            result:
              total: v.score ?? 0.5
        """, "decl.yaml:11", "'v' is not defined here"),
        ("""
        queries:
          q:
            input: { a: string }
            lookups:
              u: { table: nowhere, key: input.a }
            result:
              total: 1
        """, "decl.yaml:9", "table 'nowhere' is not declared"),
        ("""
        procedures:
          p:
            input: { a: string }
            outcomes: transfers
            stages:
              - name: one
                at: { table: accounts, key: input.a }
                require:
                  - { check: "abs(1, 2) > 0", reason: r }
        """, "decl.yaml:13", "abs takes 1 arguments"),
        ("""
        procedures:
          p:
            input: { a: string }
            outcomes: transfers
            stages:
              - name: one
                at: { table: accounts, key: input.a }
                require:
                  - { check: "1 > 0", reason: r, code: overloaded }
        """, "decl.yaml:13", "code 'overloaded' is the server's own"),
        ("""
        procedures:
          p:
            input: { a: text }
            outcomes: transfers
            stages: []
        """, "decl.yaml:7", "input type must be one of"),
        ("""
        procedures:
          p:
            input: { a: string }
            outcomes: transfers
            stages:
              - name: one
                at: { table: accounts, key: input.a }
                write:
                  - { op: get, table: accounts, key: input.a }
        """, "decl.yaml:13", "a write's op must be"),
        ("""
        procedures:
          p:
            input: { a: string }
            outcomes: transfers
            stages:
              - name: one
                at: { table: accounts, key: input.a }
                deliver: { each: "keys(input)", as: u, to: { table: users, key: u }, value: 1 }
              - name: two
                at: { table: accounts, key: input.a }
        """, "decl.yaml:10", "only the last stage can 'deliver'"),
        ("""
        procedures:
          p:
            input: { a: string }
            outcomes: transfers
            stages:
              - name: one
                at: { table: accounts, key: input.a }
                deliver: { each: "keys(input)", as: u, to: { table: users, key: v }, value: 1 }
        """, "decl.yaml:12", "'v' is not defined here"),
        ("""
        procedures:
          p:
            input: { a: string }
            outcomes: transfers
            stages:
              - name: one
                at: { table: accounts, key: input.a }
                deliver: { each: "keys(input)", as: input, to: { table: users, key: input.a }, value: 1 }
        """, "decl.yaml:12", "is not a valid name"),
    ])
    func declarationErrors_nameFileLineAndReason(declarations: String, location: String, reason: String) {
        let message = loadError(Self.tables + "\n" + declarations)
        #expect(message.hasPrefix(location + ":"), "\(message)")
        #expect(message.contains(reason), "\(message)")
    }

    @Test func serve_withABadDeclaration_refusesToStart() async throws {
        let directory = try TemporaryDirectory.make(prefix: "eddy-decl-test")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.yaml"
        try (Self.tables + """

            queries:
              q:
                input: { a: string }
                lookups:
                  u: { table: users, key: input.a }
                result:
                  total: u.score +* 2
            """).write(toFile: path, atomically: true, encoding: .utf8)
        let run = try await CLI.run(["serve", "--config", path, "--data-dir", directory + "/data", "--listen", "127.0.0.1:0"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("bad.yaml:11: query 'q', result field 'total': column 23"), "\(run.stderr)")
        #expect(run.stderr.contains("expected a value but found '*'"), "\(run.stderr)")
    }

    @Test func cli_queryAndCall_printOneLine_andFailClearly() async throws {
        let server = try ServerProcess(config: nil)
        try await server.start()
        defer { server.stop() }
        let env = ["EDDY_SERVER": server.url]
        _ = try await CLI.run(["put", "accounts", "alice", #"{"balance":50}"#], environment: env)
        _ = try await CLI.run(["put", "accounts", "bob", #"{"balance":0}"#], environment: env)

        let query = try await CLI.run(["query", "fraud_score", #"{"ip":"i","email":"e","billing":"b","shipping":"s"}"#], environment: env)
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.lines.count == 1)
        let answer = try JSON(parsing: query.lines.first ?? "")
        #expect(answer["value"]?["total"]?.numberValue ?? 0 > 0.49 && answer["value"]?["decision"] == "review")

        let call = try await CLI.run(["call", "transfer", #"{"from":"alice","to":"bob","amount":20}"#, "--id", "cli-t1"], environment: env)
        #expect(call.status == 0, "\(call.stderr)")
        #expect(try JSON(parsing: call.lines.first ?? "")["outcome"]?["status"] == "applied")

        let overdraw = try await CLI.run(["call", "transfer", #"{"from":"alice","to":"bob","amount":1000}"#, "--id", "cli-t2"], environment: env)
        #expect(overdraw.status != 0)
        #expect(overdraw.stdout.isEmpty)
        #expect(overdraw.stderr.contains("rejected: the balance is less than the amount"), "\(overdraw.stderr)")

        let unknown = try await CLI.run(["call", "nope", "{}"], environment: env)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown_procedure"), "\(unknown.stderr)")
        let badJSON = try await CLI.run(["query", "fraud_score", "{not json"], environment: env)
        #expect(badJSON.status != 0)
        #expect(badJSON.stderr.contains("input is not valid JSON"), "\(badJSON.stderr)")

        // The outcome of a call can be looked up by its request ID.
        let lookedUp = try await CLI.run(["get", "transfers", "cli-t2"], environment: env)
        #expect(try JSON(parsing: lookedUp.lines.first ?? "")["value"]?["status"] == "rejected")
    }

    /// A check's declared code is what a call it rejects answers with: 409, as `rejected`,
    /// final for the request ID, and recorded in the outcome table.
    @Test func call_rejectedByADeclaredCode_answersConflictWithThatCode() async throws {
        let server = try ServerProcess(config: Self.tables + """

            procedures:
              withdraw:
                input: { account: string, amount: number }
                outcomes: transfers
                stages:
                  - name: debit
                    at: { table: accounts, key: input.account }
                    read:
                      holder: { table: accounts, key: input.account }
                    require:
                      - { check: "(holder.balance ?? 0) >= input.amount", reason: not enough money, code: insufficient_funds }
                    write:
                      - { op: incr, table: accounts, key: input.account, field: balance, by: -input.amount }
            """)
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        try await client.put("accounts", "ann", ["balance": 5])

        let refused = try await client.call("withdraw", input: ["account": "ann", "amount": 9], id: "w1")
        #expect(refused.status == 409, "\(refused.result.serializedString)")
        #expect(refused.result["error"]?["code"] == "insufficient_funds")
        #expect(refused.result["error"]?["message"] == "not enough money")
        let retried = try await client.call("withdraw", input: ["account": "ann", "amount": 9], id: "w1")
        #expect(retried.status == 409)
        #expect(retried.result["error"] == refused.result["error"])
        #expect(try await client.get("transfers", "w1")["value"]?["status"] == "rejected")

        let paid = try await client.call("withdraw", input: ["account": "ann", "amount": 3], id: "w2")
        #expect(paid.status == 200, "\(paid.result.serializedString)")
        #expect(try await client.get("accounts", "ann")["value"]?["balance"] == 2)
        await client.close()
    }

    /// A declaration changed through the API is logged as a new version: queries after it
    /// use it, queries before it keep the answers they had, it survives a restart, and the
    /// audit re-runs every query with the version it ran with.
    @Test func declare_atRunTime_isVersionedInTheLog_survivesRestart_andAuditsClean() async throws {
        let server = try ServerProcess(config: nil)
        try await server.start()
        defer { server.stop() }
        var client = try server.client()
        try await client.put("ip_reputation", "9.9.9.9", ["score": 1])
        let input: JSON = ["ip": "9.9.9.9", "email": "e", "billing": "b", "shipping": "s"]
        let before = try await client.query("fraud_score", input: input, id: "before")
        #expect(before["value"]?["total"]?.numberValue == 0.4 * 1 + 0.3 * 0.5 + 0.15 * 0.5 + 0.15 * 0.5)

        let yaml = """
            queries:
              fraud_score:
                input: { ip: string, email: string, billing: string, shipping: string }
                lookups:
                  ip_rep: { table: ip_reputation, key: input.ip }
                result:
                  total: ip_rep.score ?? 0
                  decision: if(total >= 0.9, 'reject', 'accept')
            """
        let declared = try await client.request(method: "PUT", path: "/v1/declarations?id=decl-1", body: Array(yaml.utf8))
        let declaredBody = try JSON(parsing: declared.body)
        #expect(declared.status == 200, "\(declaredBody.serializedString)")
        let version = declaredBody["version"]?.numberValue ?? 0
        #expect(version > 0)
        let summary = try JSON(parsing: try await client.request(method: "GET", path: "/v1/declarations").body)
        #expect(summary["version"]?.numberValue == version)
        #expect(summary["queries"] == ["fraud_score"])

        let after = try await client.query("fraud_score", input: input, id: "after")
        #expect(after["value"] == ["total": 1, "decision": "reject"])
        // A retry of the query made before the change gets its first answer.
        #expect(try await client.query("fraud_score", input: input, id: "before") == before)

        let bad = try await client.request(method: "PUT", path: "/v1/declarations", body: Array("queries:\n  q:\n    input: {}\n    lookups:\n      u: { table: nowhere, key: input.a }\n    result:\n      t: 1\n".utf8))
        #expect(bad.status == 400)
        let badBody = try JSON(parsing: bad.body)
        #expect(badBody["error"]?["code"] == "invalid_declaration")
        #expect(badBody["error"]?["message"]?.stringValue?.contains("declaration:5: table 'nowhere' is not declared") == true, "\(badBody.serializedString)")
        await client.close()

        // The version is in the log: it is still in force after a restart.
        server.stop()
        try await server.start()
        client = try server.client()
        #expect(try await client.query("fraud_score", input: input)["value"] == ["total": 1, "decision": "reject"])
        await client.close()

        // The running server's own audit (of a checkpoint) re-runs them the same way.
        let online = try await CLI.run(["audit", "--server", server.url])
        #expect(online.status == 0, "\(online.stderr)\n\(online.lines.suffix(2).joined(separator: "\n"))")

        // The audit re-runs the query of each version with that version's declarations.
        server.stop()
        let audit = try await CLI.run(["audit", "--data-dir", server.dataDirectory])
        #expect(audit.status == 0, "\(audit.stderr)\n\(audit.lines.suffix(2).joined(separator: "\n"))")
    }
}
