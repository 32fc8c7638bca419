import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Testing

extension MultiPartitionLoadTests {
    /// The `register` procedure of the default configuration: a username is claimed by an
    /// insert in the partition that owns the name, so of concurrent claims exactly one wins.
    @Suite(.serialized) struct RegistrationRaceTests {
        @Test func register_hundredConcurrentClaimsOfOneName_exactlyOneWins_othersGetAConflict() async throws {
            let server = try ServerProcess(config: nil)
            try await server.start()
            defer { server.stop() }
            let url = server.url
            let results = try await withThrowingTaskGroup(of: (String, Int, JSON).self) { group in
                for n in 0..<100 {
                    group.addTask {
                        let client = try EddyClient(url: url)
                        let input: JSON = ["username": "ada", "user_id": .string("user-\(n)"), "name": .string("Ada \(n)")]
                        let (status, result) = try await client.call("register", input: input, id: "reg-\(n)")
                        await client.close()
                        return ("user-\(n)", status, result)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let winners = results.filter { $0.2["ok"] == true }
            #expect(winners.count == 1, "\(winners.count) registrations won")
            for (_, status, result) in results where result["ok"] != true {
                #expect(status == 409)
                #expect(result["error"]?["code"] == "conflict", "\(result.serializedString)")
                #expect(result["outcome"]?["status"] == "rejected")
            }
            guard let winner = winners.first?.0 else { return }
            let client = try server.client()
            #expect(try await client.get("usernames", "ada")["value"]?["user_id"]?.stringValue == winner)
            #expect(try await client.get("users", winner)["value"]?["username"] == "ada")
            for (user, _, _) in results where user != winner {
                #expect(try await client.get("users", user)["found"] == false, "loser \(user) has a user row")
            }
            // Every call's outcome is recorded under its request ID.
            let outcomes = try await client.send(batch: (0..<100).map { ["op": "get", "table": "registrations", "key": .string("reg-\($0)")] })
            #expect(outcomes.filter { $0["value"]?["status"] == "applied" }.count == 1)
            #expect(outcomes.filter { $0["value"]?["status"] == "rejected" }.count == 99)
            await client.close()
        }
    }
}
