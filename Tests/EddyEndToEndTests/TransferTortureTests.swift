import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Synchronization
import Testing

extension MultiPartitionLoadTests {
    /// The `transfer` procedure of the default configuration under load, with the server
    /// killed with `kill -9` twice mid-load and restarted. Clients retry with their request
    /// IDs, as real clients would, and one request in five is sent again after its answer.
    /// Afterwards: money is conserved, no balance is negative, every request ID has exactly
    /// one recorded outcome (the one its client was told), and applying the applied outcomes
    /// to the initial balances gives the final ones.
    @Suite(.serialized) struct TransferTortureTests {
        static let accounts = 100
        static let initialBalance = 1000.0
        static let transfers = 3000
        static let clients = 16

        struct Transfer: Sendable {
            var id: String
            var from: String
            var to: String
            var amount: Double
            var input: JSON { ["from": .string(from), "to": .string(to), "amount": .number(amount)] }
        }

        /// What clients were told, by request ID, written from many tasks.
        final class Told: Sendable {
            private let outcomes = Mutex<[String: JSON]>([:])
            private let conflicts = Mutex<[String]>([])
            func record(_ id: String, _ outcome: JSON) {
                outcomes.withLock { all in
                    if let earlier = all[id], earlier != outcome { conflicts.withLock { $0.append(id) } }
                    all[id] = outcome
                }
            }
            private let negatives = Mutex<[String]>([])
            private let samples = Mutex(0)
            func negative(_ what: String) { negatives.withLock { $0.append(what) } }
            func sampled() { samples.withLock { $0 += 1 } }
            var sampleCount: Int { samples.withLock { $0 } }
            var negativeBalances: [String] { negatives.withLock { $0 } }
            var all: [String: JSON] { outcomes.withLock { $0 } }
            var differing: [String] { conflicts.withLock { $0 } }
            var count: Int { outcomes.withLock { $0.count } }
        }

        @Test func transfers_underLoad_killedTwice_conserveMoneyAndApplyEachRequestOnce() async throws {
            let server = try ServerProcess(config: nil)
            try await server.start()
            defer { server.stop() }
            let names = (0..<Self.accounts).map { "acct-\($0)" }
            let setup = try server.client()
            let opened = try await setup.send(batch: names.map { ["op": "put", "table": "accounts", "key": .string($0), "value": ["balance": .number(Self.initialBalance)]] })
            #expect(opened.allSatisfy { $0["ok"] == true })
            await setup.close()

            var generator = SystemRandomNumberGenerator()
            let plan: [Transfer] = (0..<Self.transfers).map { n in
                // Mostly affordable amounts, some not, and now and then a payer paying itself.
                Transfer(id: "tx-\(n)", from: names.randomElement(using: &generator)!, to: names.randomElement(using: &generator)!,
                         amount: Double(Int.random(in: 1...400, using: &generator)))
            }
            let resend = Set(plan.indices.filter { _ in Int.random(in: 0..<5, using: &generator) == 0 })
            let told = Told()
            let deadline = ContinuousClock.now + .seconds(90)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<Self.clients {
                    group.addTask {
                        for index in stride(from: worker, to: plan.count, by: Self.clients) {
                            let outcome = try await server.callUntilAnswered("transfer", input: plan[index].input, id: plan[index].id, deadline: deadline)
                            told.record(plan[index].id, outcome)
                            if resend.contains(index) {
                                told.record(plan[index].id, try await server.callUntilAnswered("transfer", input: plan[index].input, id: plan[index].id, deadline: deadline))
                            }
                        }
                    }
                }
                // While the load runs, every account is read now and then in one multiget: no
                // balance may ever be negative, not just at the end.
                group.addTask {
                    while told.count < Self.transfers, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(100))
                        guard let client = try? EddyClient(url: server.url),
                              let read = try? await client.multiget(names.map { ("accounts", $0) }) else { continue }
                        await client.close()
                        if read["value"]?.arrayValue?.count == names.count { told.sampled() }
                        for item in read["value"]?.arrayValue ?? [] where (item["value"]?["balance"]?.numberValue ?? 0) < 0 {
                            told.negative(item.serializedString)
                        }
                    }
                }
                // Two kills, at about a quarter and about two thirds of the load.
                group.addTask {
                    for fraction in [0.25, 0.65] {
                        while told.count < Int(Double(Self.transfers) * fraction), ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(5))
                        }
                        server.kill9()
                        try await Task.sleep(for: .milliseconds(100))
                        try await server.start()
                    }
                }
                try await group.waitForAll()
            }
            #expect(told.count == Self.transfers)
            #expect(told.differing.isEmpty, "a resent request got a different outcome: \(told.differing.prefix(5))")
            #expect(told.sampleCount > 0, "balances were never sampled during the load")
            #expect(told.negativeBalances.isEmpty, "balances seen negative during the load: \(told.negativeBalances.prefix(5))")

            // Every request ID has exactly one recorded outcome, and it is what its client was told.
            let client = try server.client()
            let toldOutcomes = told.all
            var recorded: [String: JSON] = [:]
            for chunk in stride(from: 0, to: plan.count, by: 500).map({ Array(plan[$0..<min($0 + 500, plan.count)]) }) {
                let reads = try await client.send(batch: chunk.map { ["op": "get", "table": "transfers", "key": .string($0.id)] })
                for (transfer, read) in zip(chunk, reads) {
                    #expect(read["found"] == true, "no outcome recorded for \(transfer.id)")
                    recorded[transfer.id] = read["value"]
                    #expect(read["value"] == toldOutcomes[transfer.id], "\(transfer.id): recorded \(read["value"]?.serializedString ?? "nil"), told \(toldOutcomes[transfer.id]?.serializedString ?? "nil")")
                }
            }

            // Replaying the applied outcomes on the initial balances gives the final balances.
            var replayed = Dictionary(uniqueKeysWithValues: names.map { ($0, Self.initialBalance) })
            var applied = 0
            for transfer in plan where recorded[transfer.id]?["status"] == "applied" {
                replayed[transfer.from]! -= transfer.amount
                replayed[transfer.to]! += transfer.amount
                applied += 1
            }
            let balances = try await client.send(batch: names.map { ["op": "get", "table": "accounts", "key": .string($0)] })
            var total = 0.0
            for (name, read) in zip(names, balances) {
                let balance = read["value"]?["balance"]?.numberValue ?? .nan
                total += balance
                #expect(balance >= 0, "\(name) is negative: \(balance)")
                #expect(balance == replayed[name], "\(name): \(balance), but the applied outcomes give \(replayed[name]!)")
            }
            #expect(total == Double(Self.accounts) * Self.initialBalance, "money is not conserved")
            // The load must have exercised both outcomes.
            #expect(applied > Self.transfers / 4 && applied < Self.transfers, "\(applied) applied")
            await client.close()

            // And the log re-derives the same state.
            server.stop()
            let audit = try await CLI.run(["audit", "--data-dir", server.dataDirectory])
            #expect(audit.status == 0, "\(audit.stderr)\n\(audit.lines.suffix(3).joined(separator: "\n"))")
        }
    }
}
