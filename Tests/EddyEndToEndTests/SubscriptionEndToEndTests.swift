import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Synchronization
import Testing

/// Subscribers on keys and prefixes follow `counters` over SSE while writers increment it;
/// subscribers drop their connection at random points and resume from their cursors. For
/// each subscriber, the changes it received, merged across its sessions, must be exactly
/// the committed increments of the keys it matches: per key the values s+1, s+2, …, n with
/// no gap and no repeat, where n is the number of increments committed and s the value in
/// the snapshot (0 when the key was absent; a subscription that attaches late under load
/// starts with a snapshot).
@Suite(.serialized) struct SubscriptionEndToEndTests {
    static let keys = (0..<12).map { "k\($0)" }
    static let writers = 4
    static let eventsPerWriter = 300

    /// What each subscriber follows: single keys, prefixes (k1 also matches k10, k11), the table.
    static let filters: [(key: String?, prefix: String?)] = [
        ("k0", nil), ("k3", nil), ("k7", nil), ("k11", nil),
        (nil, "k1"), (nil, "k2"), (nil, "k"), (nil, nil),
    ]

    static func matches(_ filter: (key: String?, prefix: String?), _ key: String) -> Bool {
        if let only = filter.key { return only == key }
        return key.hasPrefix(filter.prefix ?? "")
    }

    /// Changes received by one subscriber: key → the `n` values in arrival order. A snapshot
    /// entry replaces what came before for its key (it is state, not a change).
    final class Received: Sendable {
        private let values = Mutex<[String: [Double]]>([:])
        private let sessions = Mutex(1)
        /// Keys whose snapshot entry came after a change of theirs: a resume lost its cursor.
        let snapshotAfterChanges = Mutex(Set<String>())
        private let snapshots = Mutex(Set<String>())
        func snapshotted(_ key: String) -> Bool { snapshots.withLock { $0.contains(key) } }
        func add(_ change: EddyChange) {
            if change.kind == "snapshot" { _ = snapshots.withLock { $0.insert(change.key) } }
            let n = change.value?["n"]?.numberValue ?? -1
            values.withLock { values in
                if change.kind == "snapshot" {
                    if !(values[change.key] ?? []).isEmpty { _ = snapshotAfterChanges.withLock { $0.insert(change.key) } }
                    values[change.key] = [n]
                } else {
                    values[change.key, default: []].append(n)
                }
            }
        }
        func reconnected() { sessions.withLock { $0 += 1 } }
        var all: [String: [Double]] { values.withLock { $0 } }
        var sessionCount: Int { sessions.withLock { $0 } }
        func has(_ expected: [String: Int]) -> Bool {
            let all = self.all
            return expected.allSatisfy { (all[$0.key]?.last ?? 0) >= Double($0.value) }
        }
    }

    final class Acknowledged: Sendable {
        private let ids = Mutex(Set<String>())
        func add(_ id: String) { _ = ids.withLock { $0.insert(id) } }
        var count: Int { ids.withLock { $0.count } }
    }

    static func plan(_ round: String) -> [[JSON]] {
        (0..<writers).map { writer in
            (0..<eventsPerWriter).map { n in
                let key = keys[(writer * 5 + n * 7) % keys.count]
                return ["id": .string("\(round)-w\(writer)-\(n)"), "op": "incr", "table": "counters", "key": .string(key), "field": "n"]
            }
        }
    }

    /// Follows one filter until told to stop, dropping the connection now and then.
    static func follow(_ url: String, _ filter: (key: String?, prefix: String?), into received: Received, dropEvery: Int, seed: UInt64) async throws {
        let client = try EddyClient(url: url)
        let subscription = client.subscribe("counters", key: filter.key, prefix: filter.prefix)
        let iterator = subscription.makeAsyncIterator()
        var random = SeededRandom(seed: seed)
        while let change = try await iterator.next() {
            received.add(change)
            if Int.random(in: 0..<dropEvery, using: &random) == 0 {
                iterator.disconnect()
                received.reconnected()
            }
        }
    }

    /// Runs writers and subscribers; `kill` (if given) runs mid-load and may restart the server.
    func run(round: String, killAfter: Duration? = nil) async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let url = server.url
        let received = Self.filters.map { _ in Received() }

        let subscribers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, filter) in Self.filters.enumerated() {
                    group.addTask { try await Self.follow(url, filter, into: received[index], dropEvery: 40, seed: UInt64(index + 1)) }
                }
                try await group.waitForAll()
            }
        }
        try await Task.sleep(for: .milliseconds(500))  // let every subscription attach

        let plan = Self.plan(round)
        let acknowledged = Acknowledged()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for events in plan {
                group.addTask {
                    let client = try EddyClient(url: url)
                    for event in events {
                        guard let (status, result) = try? await client.send(event) else { return }
                        if status == 200, result["ok"] == true { acknowledged.add(event["id"]!.stringValue!) }
                    }
                }
            }
            if let killAfter {
                group.addTask {
                    try await Task.sleep(for: killAfter)
                    server.kill9()
                }
            }
            try await group.waitForAll()
        }
        if killAfter != nil {
            #expect(acknowledged.count < Self.writers * Self.eventsPerWriter, "the kill should land mid-load")
            try await server.start()  // same port: subscribers reconnect by themselves
            // Retry everything with the same IDs, as clients would: applied exactly once.
            let client = try server.client()
            for events in plan {
                for result in try await client.send(batch: events) { #expect(result["ok"] == true) }
            }
        }

        // Committed increments per key (each ID applied exactly once).
        var expected: [String: Int] = [:]
        for event in plan.joined() { expected[event["key"]!.stringValue!, default: 0] += 1 }

        let deadline = ContinuousClock.now + .seconds(30)
        for (index, filter) in Self.filters.enumerated() {
            let wanted = expected.filter { Self.matches(filter, $0.key) }
            while !received[index].has(wanted) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        try await Task.sleep(for: .milliseconds(300))  // anything extra (a duplicate) would arrive now
        subscribers.cancel()
        _ = try? await subscribers.value

        for (index, filter) in Self.filters.enumerated() {
            let got = received[index].all
            #expect(received[index].sessionCount > 1, "subscriber \(index) never reconnected")
            #expect(received[index].snapshotAfterChanges.withLock { $0 }.isEmpty, "subscriber \(index) got a snapshot after changes of the same key")
            for key in Self.keys {
                let values = got[key, default: []]
                guard Self.matches(filter, key) else {
                    #expect(values.isEmpty, "subscriber \(index) (\(filter)) got key \(key)")
                    continue
                }
                // Each value is one more than the one before, up to the committed count; the run
                // starts at 1, or at a snapshot's value when the key existed at subscribe time.
                let total = Double(expected[key, default: 0])
                let first = values.first ?? 1
                let isRun = values == Array(stride(from: first, through: total, by: 1))
                #expect(isRun, "subscriber \(index) (\(filter)) key \(key): got \(values.count) values from \(values.prefix(3)); first break at \(zip(values, values.dropFirst()).first { $1 != $0 + 1 }.map { "\($0.0) → \($0.1)" } ?? "end"), wanted a run ending at \(total)")
                #expect(first == 1 || received[index].snapshotted(key), "subscriber \(index) key \(key) starts at \(first) without a snapshot")
            }
        }
    }

    @Test func subscribersDroppedAtRandom_resumeWithNoGapAndNoDuplicate() async throws {
        try await run(round: "plain")
    }

    @Test func subscribersAcrossKill9_resumeAfterRestartMissingNothing() async throws {
        try await run(round: "crash", killAfter: .milliseconds(700))
    }
}

/// SplitMix64: reproducible choices from a seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A subscriber that stops reading while writers write much more than its buffer and the
/// socket hold: writers are not held up, and the subscriber later gets every change, in order.
@Suite(.serialized) struct SlowSubscriberTests {
    @Test func subscriberThatReadsNothing_neverHoldsWritersUp_andLaterGetsEverything() async throws {
        let server = try ServerProcess(config: """
            subscriptions:
              bufferMessages: 16
            tables:
              - name: users
            """)
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        var subscription = client.subscribe("users", prefix: "slow")
        subscription.reconnectAttemptsMax = 3
        // If changes stop coming, the server is stopped, which ends the loop below with an error.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            server.kill9()
        }
        defer { watchdog.cancel() }
        let iterator = subscription.makeAsyncIterator()
        try await client.put("users", "slow-0", ["n": 0])
        #expect(try await iterator.next()?.key == "slow-0")  // attached and live

        // ~20 MB of changes while the subscriber reads nothing: more than the socket buffers
        // and its outbox of 16 hold, so the server must stop pushing to it.
        let padding = String(repeating: "x", count: 32 * 1024)
        let writes = 600
        for batch in stride(from: 1, through: writes, by: 20) {
            let events: [JSON] = (batch..<batch + 20).map { n in
                ["op": "put", "table": "users", "key": .string("slow-\(n % 7)"), "value": ["n": .number(Double(n)), "pad": .string(padding)]]
            }
            for result in try await client.send(batch: events) { #expect(result["ok"] == true) }
        }
        let metrics = String(decoding: try await client.request(method: "GET", path: "/metrics").body, as: UTF8.self)
        let stalls = metrics.split(separator: "\n").first { $0.hasPrefix("eddy_subscription_stalls_total ") }.flatMap { Double($0.split(separator: " ")[1]) }
        #expect((stalls ?? 0) > 0, "the subscriber never fell behind, so this test showed nothing")
        #expect(metrics.contains("eddy_subscription_lag_records{subscription="))

        // Order is promised per key (keys live in different partitions).
        var received: [String: [Int]] = [:]
        var count = 0
        while count < writes {
            guard let change = try await iterator.next() else { break }
            received[change.key, default: []].append(Int(change.value?["n"]?.numberValue ?? -1))
            count += 1
        }
        for k in 0..<7 {
            let wanted = (1...writes).filter { $0 % 7 == k }
            let got = received["slow-\(k)", default: []]
            let exact = got == wanted
            #expect(exact, "slow-\(k): got \(got.count) of \(wanted.count) changes; first break at \(zip(got, got.dropFirst()).first { $1 != $0 + 7 }.map { "\($0.0) → \($0.1)" } ?? "none")")
        }
        await client.close()
    }
}
