import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Testing

extension MultiPartitionLoadTests {
    /// `fraud_score` from the default configuration, through the public HTTP API of a real
    /// server: random reputation data, a thousand random purchases, each answer checked
    /// against the formula computed here, independently of the server's declaration.
    @Suite(.serialized) struct FraudScoreTests {
        /// The issue's formula, written out in Swift. Missing scores count as 0.5.
        static func expected(ip: Double?, email: Double?, billing: Double?, shipping: Double?) -> (total: Double, decision: String) {
            let total = 0.4 * (ip ?? 0.5) + 0.3 * (email ?? 0.5) + 0.15 * (billing ?? 0.5) + 0.15 * (shipping ?? 0.5)
            return (total, total >= 0.7 ? "reject" : (total >= 0.4 ? "review" : "accept"))
        }

        @Test func fraudScore_onRandomReputations_matchesTheFormulaForAThousandPurchases() async throws {
            let server = try ServerProcess(config: nil)
            try await server.start()
            defer { server.stop() }
            let client = try server.client()
            var generator = SystemRandomNumberGenerator()

            // About a quarter of each table's keys have no score, to exercise the 0.5 default.
            func reputations(_ prefix: String, _ count: Int) -> [String: Double?] {
                var table: [String: Double?] = [:]
                for n in 0..<count {
                    table["\(prefix)\(n)"] = Int.random(in: 0..<4, using: &generator) == 0 ? .some(nil) : Double.random(in: 0...1, using: &generator)
                }
                return table
            }
            let ips = reputations("10.0.0.", 60)
            let emails = reputations("user", 60)
            let addresses = reputations("street ", 80)
            var writes: [JSON] = []
            for (table, values) in [("ip_reputation", ips), ("email_reputation", emails), ("address_reputation", addresses)] {
                for (key, score) in values {
                    if let score { writes.append(["op": "put", "table": .string(table), "key": .string(key), "value": ["score": .number(score)]]) }
                }
            }
            let stored = try await client.send(batch: writes)
            #expect(stored.allSatisfy { $0["ok"] == true })
            await client.close()

            struct Purchase: Sendable {
                var ip: String, email: String, billing: String, shipping: String
            }
            let purchases: [Purchase] = (0..<1000).map { _ in
                Purchase(ip: ips.keys.randomElement()!, email: emails.keys.randomElement()!, billing: addresses.keys.randomElement()!, shipping: addresses.keys.randomElement()!)
            }
            let url = server.url
            let answers = try await withThrowingTaskGroup(of: [(Int, JSON)].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        let client = try EddyClient(url: url)
                        var answers: [(Int, JSON)] = []
                        for index in stride(from: worker, to: purchases.count, by: 8) {
                            let p = purchases[index]
                            let input: JSON = ["ip": .string(p.ip), "email": .string(p.email), "billing": .string(p.billing), "shipping": .string(p.shipping)]
                            answers.append((index, try await client.query("fraud_score", input: input)))
                        }
                        await client.close()
                        return answers
                    }
                }
                return try await group.reduce(into: [Int: JSON]()) { all, batch in for (index, answer) in batch { all[index] = answer } }
            }
            #expect(answers.count == purchases.count)

            var decisions: [String: Int] = [:]
            for (index, purchase) in purchases.enumerated() {
                guard let answer = answers[index]?["value"] else {
                    Issue.record("no answer for purchase \(index)")
                    continue
                }
                let (ip, email, billing, shipping) = (ips[purchase.ip]!, emails[purchase.email]!, addresses[purchase.billing]!, addresses[purchase.shipping]!)
                let want = Self.expected(ip: ip, email: email, billing: billing, shipping: shipping)
                #expect(answer["ip"]?.numberValue == ip ?? 0.5)
                #expect(answer["email"]?.numberValue == email ?? 0.5)
                #expect(answer["billing"]?.numberValue == billing ?? 0.5)
                #expect(answer["shipping"]?.numberValue == shipping ?? 0.5)
                let total = answer["total"]?.numberValue ?? .nan
                #expect(abs(total - want.total) < 1e-12, "purchase \(index): total \(total), expected \(want.total)")
                // A total within rounding of a threshold could fairly go either way.
                if abs(want.total - 0.7) > 1e-9, abs(want.total - 0.4) > 1e-9 {
                    #expect(answer["decision"]?.stringValue == want.decision, "purchase \(index): \(answer.serializedString)")
                }
                decisions[answer["decision"]?.stringValue ?? "?", default: 0] += 1
            }
            // The random data must actually exercise every branch of the decision.
            #expect(decisions["accept", default: 0] > 0 && decisions["review", default: 0] > 0 && decisions["reject", default: 0] > 0, "\(decisions)")
        }

        @Test func fraudScore_withAClientID_isAnsweredOnceAndRepeatedOnRetry_andBadInputIsNamed() async throws {
            let server = try ServerProcess(config: nil)
            try await server.start()
            defer { server.stop() }
            let client = try server.client()
            try await client.put("ip_reputation", "1.2.3.4", ["score": 1])
            let input: JSON = ["ip": "1.2.3.4", "email": "e", "billing": "b", "shipping": "s"]
            let first = try await client.send(EddyClient.queryEvent("fraud_score", input: input, id: "q-1"))
            #expect(first.status == 200)
            #expect(first.result["value"]?["total"]?.numberValue == Self.expected(ip: 1, email: nil, billing: nil, shipping: nil).total)
            // The reputation changes, but a retry with the same ID returns the first answer.
            try await client.put("ip_reputation", "1.2.3.4", ["score": 0])
            let retry = try await client.send(EddyClient.queryEvent("fraud_score", input: input, id: "q-1"))
            #expect(retry.result.serialized() == first.result.serialized())
            let fresh = try await client.query("fraud_score", input: input)
            #expect(fresh["value"]?["ip"] == 0)

            let missing = try await client.send(EddyClient.queryEvent("fraud_score", input: ["ip": "x"], id: nil))
            #expect(missing.status == 400)
            #expect(missing.result["error"]?["code"] == "invalid_input")
            let unknown = try await client.send(EddyClient.queryEvent("no_such_query", input: [:], id: nil))
            #expect(unknown.status == 404)
            #expect(unknown.result["error"]?["code"] == "unknown_query")

            let many = try await client.multiget([("ip_reputation", "1.2.3.4"), ("users", "nobody")])
            #expect(many["value"]?.arrayValue?.count == 2)
            let items = many["value"]?.arrayValue ?? []
            #expect(items.first?["value"]?["score"] == 0)
            #expect(items.last?["found"] == false)
            await client.close()
        }
    }
}
