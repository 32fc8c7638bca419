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
    ])
    func declarationErrors_nameFileLineAndReason(declarations: String, location: String, reason: String) {
        let message = loadError(Self.tables + "\n" + declarations)
        #expect(message.hasPrefix(location + ":"), "\(message)")
        #expect(message.contains(reason), "\(message)")
    }

    @Test func serve_withABadDeclaration_refusesToStart() throws {
        let directory = try TemporaryDirectory.make(prefix: "eddy-decl-test")
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
        let run = try CLI.run(["serve", "--config", path, "--data-dir", directory + "/data", "--listen", "127.0.0.1:0"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("bad.yaml:11: query 'q', result field 'total': column 23"), "\(run.stderr)")
        #expect(run.stderr.contains("expected a value but found '*'"), "\(run.stderr)")
    }

    @Test func cli_queryAndCall_printOneLine_andFailClearly() async throws {
        let server = try ServerProcess(config: nil)
        try server.start()
        defer { server.stop() }
        let env = ["EDDY_SERVER": server.url]
        _ = try CLI.run(["put", "accounts", "alice", #"{"balance":50}"#], environment: env)
        _ = try CLI.run(["put", "accounts", "bob", #"{"balance":0}"#], environment: env)

        let query = try CLI.run(["query", "fraud_score", #"{"ip":"i","email":"e","billing":"b","shipping":"s"}"#], environment: env)
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.lines.count == 1)
        let answer = try JSON(parsing: query.lines.first ?? "")
        #expect(answer["value"]?["total"]?.numberValue ?? 0 > 0.49 && answer["value"]?["decision"] == "review")

        let call = try CLI.run(["call", "transfer", #"{"from":"alice","to":"bob","amount":20}"#, "--id", "cli-t1"], environment: env)
        #expect(call.status == 0, "\(call.stderr)")
        #expect(try JSON(parsing: call.lines.first ?? "")["outcome"]?["status"] == "applied")

        let overdraw = try CLI.run(["call", "transfer", #"{"from":"alice","to":"bob","amount":1000}"#, "--id", "cli-t2"], environment: env)
        #expect(overdraw.status != 0)
        #expect(overdraw.stdout.isEmpty)
        #expect(overdraw.stderr.contains("rejected: the balance is less than the amount"), "\(overdraw.stderr)")

        let unknown = try CLI.run(["call", "nope", "{}"], environment: env)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown_procedure"), "\(unknown.stderr)")
        let badJSON = try CLI.run(["query", "fraud_score", "{not json"], environment: env)
        #expect(badJSON.status != 0)
        #expect(badJSON.stderr.contains("input is not valid JSON"), "\(badJSON.stderr)")

        // The outcome of a call can be looked up by its request ID.
        let lookedUp = try CLI.run(["get", "transfers", "cli-t2"], environment: env)
        #expect(try JSON(parsing: lookedUp.lines.first ?? "")["value"]?["status"] == "rejected")
    }
}
