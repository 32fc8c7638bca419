import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Synchronization
import Testing

/// Story 6 on the default configuration: friendships (`friends`) and messages (`messages`)
/// live in different partitions, and the `post` procedure delivers a notification to each of
/// the author's friends, which clients watch with a subscription to `notifications`.
@Suite(.serialized) struct CausalityTests {
    /// Every notification key a subscriber to the whole `notifications` table has received,
    /// with how many changes each got.
    final class Watcher: Sendable {
        private let seen = Mutex<[String: Int]>([:])
        private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

        /// Returns once the subscription is attached: it has received a marker written after
        /// it was opened, so no later notification can be missed.
        init(_ server: ServerProcess) async throws {
            let subscription = try server.client().subscribe("notifications")
            let started = Task { [self] in
                do {
                    for try await change in subscription {
                        self.seen.withLock { $0[change.key, default: 0] += 1 }
                    }
                } catch {}
            }
            task.withLock { $0 = started }
            let client = try server.client()
            defer { Task { await client.close() } }
            let marker = Self.marker + CausalityTests.randomTag()
            let deadline = ContinuousClock.now + .seconds(30)
            while seen.withLock({ $0[marker] == nil }), ContinuousClock.now < deadline {
                try await client.put("notifications", marker, true)
                try await Task.sleep(for: .milliseconds(50))
            }
            guard seen.withLock({ $0[marker] != nil }) else { throw ServerProcess.Failure("the notifications subscription never attached") }
        }

        static let marker = "~watcher-ready-"

        /// Notification keys received (markers left out) and how many changes each got.
        var keys: [String: Int] { seen.withLock { $0 }.filter { !$0.key.hasPrefix(Self.marker) } }

        /// Waits until every key in `expected` has arrived, for up to `seconds`.
        func waitFor(_ expected: Set<String>, seconds: Int) async throws -> Set<String> {
            let deadline = ContinuousClock.now + .seconds(seconds)
            var missing = expected
            while ContinuousClock.now < deadline {
                missing = expected.subtracting(keys.keys)
                if missing.isEmpty { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            return missing
        }

        func stop() {
            task.withLock { $0?.cancel() }
        }
    }

    /// Who must and must not be notified, collected from many rounds at once.
    final class Expectations: Sendable {
        private let state = Mutex<(must: Set<String>, mustNot: Set<String>)>(([], []))
        func add(must: String, mustNot: String?) {
            state.withLock {
                $0.must.insert(must)
                if let mustNot { $0.mustNot.insert(mustNot) }
            }
        }
        var must: Set<String> { state.withLock { $0.must } }
        var mustNot: Set<String> { state.withLock { $0.mustNot } }
    }

    final class Counter: Sendable {
        let done = Atomic<Int>(0)
    }

    static func randomTag() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// Many rounds, eight at a time, each with fresh random names (so the author's friend
    /// list, the message and each notification land in random partitions) and random pauses
    /// between the steps. In most rounds the author unfriends `x`, then posts passing the
    /// unfriend's position token as `after`, sometimes from another connection: `x` must
    /// never be notified, while the friend who stays must be. In control rounds the post
    /// comes before the unfriend, and `x` must be notified: so the watcher would have seen a
    /// wrong notification, had there been one.
    @Test func unfriendThenPostWithItsToken_neverNotifiesTheExFriend() async throws {
        let server = try ServerProcess(config: nil)
        try await server.start()
        defer { server.stop() }
        let watcher = try await Watcher(server)
        defer { watcher.stop() }
        let expectations = Expectations()
        let rounds = 160
        let concurrency = 8
        let deadline = ContinuousClock.now + .seconds(60)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    let writer = try server.client()
                    let poster = try server.client()
                    defer { Task { await writer.close(); await poster.close() } }
                    for round in stride(from: lane, to: rounds, by: concurrency) {
                        let tag = Self.randomTag()
                        let (author, ex, kept, message) = ("a-\(tag)", "x-\(tag)", "k-\(tag)", "m-\(tag)")
                        let post: JSON = ["author": .string(author), "message_id": .string(message), "text": .string("round \(round)")]
                        try await writer.put("friends", author, [ex: true, kept: true])
                        try await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
                        if round % 8 == 0 {
                            // Control: posted while x is still a friend.
                            let outcome = try await server.callUntilAnswered("post", input: post, id: "post-\(tag)", deadline: deadline)
                            #expect(outcome["status"] == "applied", "\(outcome.serializedString)")
                            try await writer.patch("friends", author, [ex: .null])
                            expectations.add(must: "\(kept)/\(message)", mustNot: nil)
                            expectations.add(must: "\(ex)/\(message)", mustNot: nil)
                        } else {
                            let unfriend = try await writer.patch("friends", author, [ex: .null])
                            try await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
                            let token = try #require(unfriend["position"]?.stringValue)
                            // The token carries the order across connections, not the connection.
                            let client = Bool.random() ? writer : poster
                            let (_, result) = try await client.call("post", input: post, id: "post-\(tag)", after: token)
                            #expect(result["outcome"]?["status"] == "applied", "\(result.serializedString)")
                            expectations.add(must: "\(kept)/\(message)", mustNot: "\(ex)/\(message)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }

        let missing = try await watcher.waitFor(expectations.must, seconds: 20)
        #expect(missing.isEmpty, "notifications never delivered: \(missing.sorted().prefix(5))")
        // Every post's deliveries leave in one batch; give any stray one time to land anyway.
        try await Task.sleep(for: .milliseconds(500))
        let wrong = expectations.mustNot.intersection(watcher.keys.keys)
        #expect(wrong.isEmpty, "ex-friends notified after unfriending: \(wrong.sorted().prefix(5))")
        #expect(expectations.mustNot.count == rounds - rounds / 8)
        let client = try server.client()
        defer { Task { await client.close() } }
        let reads = try await client.send(batch: expectations.mustNot.sorted().prefix(500).map { ["op": "get", "table": "notifications", "key": .string($0)] })
        #expect(reads.allSatisfy { $0["found"] == false }, "an ex-friend's notification is stored")
    }

    /// Posts with request IDs under load, the server killed with `kill -9` twice and
    /// restarted, clients retrying with their IDs. Afterwards every post is applied once, as
    /// its client was told, and a subscriber that followed the table across the kills got
    /// each friend's notification exactly once: the outbox lost no delivery, and the
    /// receiving partitions applied none twice.
    @Test func posts_underLoad_killedTwice_deliverEachNotificationExactlyOnce() async throws {
        let server = try ServerProcess(config: nil)
        try await server.start()
        defer { server.stop() }
        let authors = (0..<20).map { "author-\($0)" }
        let friendsOf = Dictionary(uniqueKeysWithValues: authors.map { author in (author, (0..<3).map { "\(author)-f\($0)" }) })
        let setup = try server.client()
        for author in authors {
            try await setup.put("friends", author, .object(Dictionary(uniqueKeysWithValues: friendsOf[author]!.map { ($0, JSON.bool(true)) })))
        }
        await setup.close()
        let watcher = try await Watcher(server)
        defer { watcher.stop() }

        let posts = 600
        let clients = 8
        let counter = Counter()
        let deadline = ContinuousClock.now + .seconds(90)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<clients {
                group.addTask {
                    for n in stride(from: lane, to: posts, by: clients) {
                        let input: JSON = ["author": .string(authors[n % authors.count]), "message_id": .string("msg-\(n)"), "text": "hi"]
                        let outcome = try await server.callUntilAnswered("post", input: input, id: "post-\(n)", deadline: deadline)
                        #expect(outcome["status"] == "applied", "post-\(n): \(outcome.serializedString)")
                        counter.done.add(1, ordering: .relaxed)
                    }
                }
            }
            group.addTask {
                for fraction in [0.3, 0.7] {
                    while counter.done.load(ordering: .relaxed) < Int(Double(posts) * fraction), ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    server.kill9()
                    try await Task.sleep(for: .milliseconds(100))
                    try await server.start()  // same port: the watcher resumes from its cursor
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.done.load(ordering: .relaxed) == posts)

        let expected = Set((0..<posts).flatMap { n in friendsOf[authors[n % authors.count]]!.map { "\($0)/msg-\(n)" } })
        let missing = try await watcher.waitFor(expected, seconds: 30)
        #expect(missing.isEmpty, "\(missing.count) notifications lost, e.g. \(missing.sorted().prefix(5))")
        let counts = watcher.keys
        let twice = counts.filter { $0.value > 1 }.keys.sorted()
        #expect(twice.isEmpty, "notifications applied more than once: \(twice.prefix(5))")
        #expect(Set(counts.keys) == expected, "unexpected notifications: \(Set(counts.keys).subtracting(expected).sorted().prefix(5))")

        // Each post is recorded once, applied, in its outcome table.
        let client = try server.client()
        defer { Task { await client.close() } }
        let outcomes = try await client.send(batch: (0..<posts).map { ["op": "get", "table": "posts", "key": .string("post-\($0)")] })
        #expect(outcomes.allSatisfy { $0["value"]?["stages"] == ["store: applied", "notify: applied"] })
    }
}
