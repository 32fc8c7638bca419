@testable import EddyEngine
import EddyModel
import Foundation
import Testing

@Suite struct SubscriptionTests {
    // MARK: Helpers

    private func subscribe(_ h: EngineHarness, _ fields: JSON, capacity: Int = 4096) async throws -> (Subscription, Position, SubscriptionOutbox) {
        var object = fields.objectValue ?? [:]
        object["op"] = "subscribe"
        let outbox = SubscriptionOutbox(capacity: capacity)
        let event = try Event(json: .object(object), limits: h.configuration.limits)
        let (subscription, position) = try await h.engine.subscribe(event, outbox: outbox).get()
        return (subscription, position, outbox)
    }

    /// Takes changes from `outbox` until `count` arrived (heartbeats skipped), or fails once
    /// none has arrived for 10 s: a lost wake-up stops delivery for good, so it still fails.
    ///
    /// Why not a deadline for all of them: a slow subscriber's catch-up takes one hop through
    /// the cooperative pool per buffer's worth, and in the full suite the other tests can keep
    /// both of its threads busy for seconds. Under that load, 400 changes once took longer
    /// than 10 s, all delivered.
    private func take(_ count: Int, from outbox: SubscriptionOutbox) async throws -> [SubscriptionChange] {
        var changes: [SubscriptionChange] = []
        var lastProgress = ContinuousClock.now
        while changes.count < count {
            guard ContinuousClock.now < lastProgress + .seconds(10) else {
                Issue.record("only \(changes.count) of \(count) changes arrived, then none for 10 s")
                return changes
            }
            let batch = try await withTimeout(.seconds(10)) { await outbox.next() }
            for message in batch ?? [] {
                if case .change(let change) = message {
                    changes.append(change)
                    lastProgress = ContinuousClock.now
                }
                if case .ended(_, let error) = message { throw error }
            }
        }
        return changes
    }

    /// Nothing but heartbeats arrives within `wait`. (A heartbeat comes every 15 s; a test
    /// slowed by a busy machine can run that long.)
    private func expectQuiet(_ outbox: SubscriptionOutbox, for wait: Duration = .milliseconds(300)) async throws {
        try await Task.sleep(for: wait)
        let extra = (outbox.take() ?? []).filter { if case .heartbeat = $0 { false } else { true } }
        #expect(extra.isEmpty, "unexpected extra messages: \(extra)")
    }

    private func value(_ change: SubscriptionChange) throws -> JSON? {
        try change.value.map { try JSON(parsing: $0) }
    }

    // MARK: Snapshot, then changes

    @Test func keySubscription_snapshotThenEveryChange_withKindsValuesAndRisingCursors() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "users", "key": "ada", "value": ["n": 1]])
        _ = try await h.result(["op": "put", "table": "users", "key": "bob", "value": ["n": 9]])
        let (subscription, position, outbox) = try await subscribe(h, ["table": "users", "key": "ada"])
        #expect(subscription.partitions == [h.partition(of: "users", "ada")])
        let snapshot = try await take(1, from: outbox)
        #expect(snapshot[0].kind == "snapshot")
        #expect(try value(snapshot[0]) == ["n": 1])
        #expect(snapshot[0].cursor == position.token)

        _ = try await h.result(["op": "patch", "table": "users", "key": "ada", "value": ["m": 2]])
        _ = try await h.result(["op": "put", "table": "users", "key": "bob", "value": ["n": 10]])
        _ = try await h.result(["op": "incr", "table": "users", "key": "ada", "field": "n", "by": 5])
        _ = try await h.result(["op": "delete", "table": "users", "key": "ada"])
        let changes = try await take(3, from: outbox)
        #expect(changes.map(\.kind) == ["patch", "incr", "delete"])
        #expect(try changes.map(value) == [["n": 1, "m": 2], ["n": 6, "m": 2], nil])
        #expect(changes.allSatisfy { $0.key == "ada" && $0.event?.first == "@" })
        let offsets = try changes.map { try Position(token: $0.cursor).offsets.values.first! }
        #expect(offsets == offsets.sorted() && Set(offsets).count == 3)
        try await expectQuiet(outbox)
    }

    @Test func prefixSubscription_acrossPartitions_getsOnlyMatchingKeysOfItsTable() async throws {
        let h = try EngineHarness()
        for key in ["a1", "a2", "b1"] { _ = try await h.result(["op": "put", "table": "users", "key": .string(key), "value": 0]) }
        let (subscription, _, outbox) = try await subscribe(h, ["table": "users", "prefix": "a"])
        #expect(subscription.partitions.count == h.configuration.partitions)
        #expect(Set(try await take(2, from: outbox).map(\.key)) == ["a1", "a2"])
        var expected: [String] = []
        for i in 0..<40 {
            let key = (i % 2 == 0 ? "a" : "b") + "\(i)"
            if key.hasPrefix("a") { expected.append(key) }
            _ = try await h.result(["op": "put", "table": "users", "key": .string(key), "value": .number(Double(i))])
            _ = try await h.result(["op": "put", "table": "stock", "key": .string(key), "value": 1])
        }
        let changes = try await take(expected.count, from: outbox)
        #expect(Set(changes.map(\.key)) == Set(expected))
        #expect(changes.allSatisfy { $0.table == "users" && $0.kind == "put" })
        try await expectQuiet(outbox)
    }

    // MARK: Resuming

    @Test func resumeFromCursor_deliversExactlyTheMissedChanges_withoutSnapshot() async throws {
        let h = try EngineHarness()
        let (first, _, outbox) = try await subscribe(h, ["table": "counters", "prefix": ""])
        for i in 0..<10 { _ = try await h.result(["op": "incr", "table": "counters", "key": .string("k\(i % 3)"), "field": "n"]) }
        let seen = try await take(10, from: outbox)
        h.engine.unsubscribe(first)
        for i in 10..<25 { _ = try await h.result(["op": "incr", "table": "counters", "key": .string("k\(i % 3)"), "field": "n"]) }
        let (_, _, resumed) = try await subscribe(h, ["table": "counters", "from": .string(seen.last!.cursor)])
        let missed = try await take(15, from: resumed)
        #expect(!missed.contains { $0.kind == "snapshot" })
        // Per key, the counts continue exactly where the first session stopped.
        var last: [String: Double] = [:]
        for change in seen + missed {
            let n = try value(change)?["n"]?.numberValue ?? 0
            #expect(n == (last[change.key] ?? 0) + 1, "key \(change.key) jumped to \(n)")
            last[change.key] = n
        }
        try await expectQuiet(resumed)
    }

    @Test func resume_afterRestart_missesNothing() async throws {
        let h = try EngineHarness()
        let (_, _, outbox) = try await subscribe(h, ["table": "users", "key": "k"])
        for i in 1...5 { _ = try await h.result(["op": "put", "table": "users", "key": "k", "value": .number(Double(i))]) }
        // The key was absent when subscribing, so the snapshot is empty: five changes only.
        let seen = try await take(5, from: outbox)
        try h.restart()
        for i in 6...9 { _ = try await h.result(["op": "put", "table": "users", "key": "k", "value": .number(Double(i))]) }
        let (_, _, resumed) = try await subscribe(h, ["table": "users", "key": "k", "from": .string(seen.last!.cursor)])
        #expect(try await take(4, from: resumed).map(value) == [6, 7, 8, 9])
    }

    @Test func cursorPastRetention_isRefusedWithCursorExpired() async throws {
        let h = try EngineHarness { $0.retainedRecordsPerPartition = 10; $0.partitions = 1 }
        let (_, _, outbox) = try await subscribe(h, ["table": "users", "key": "k"])
        _ = try await h.result(["op": "put", "table": "users", "key": "k", "value": 0])
        let cursor = try await take(1, from: outbox)[0].cursor
        for i in 0..<1100 { _ = try await h.result(["op": "put", "table": "users", "key": "x", "value": .number(Double(i))]) }
        let event = try Event(json: ["op": "subscribe", "table": "users", "key": "k", "from": .string(cursor)], limits: Limits())
        let refused = await h.engine.subscribe(event, outbox: SubscriptionOutbox(capacity: 8))
        #expect(throws: EddyError.self) { try refused.get() }
        if case .failure(let error) = refused { #expect(error.code == .cursorExpired) }
    }

    @Test func cursorBeyondTheLog_isRefused() async throws {
        let h = try EngineHarness()
        let event = try Event(json: ["op": "subscribe", "table": "users", "key": "k", "from": "0:999,1:999,2:999,3:999,4:999,5:999,6:999,7:999"], limits: Limits())
        let refused = await h.engine.subscribe(event, outbox: SubscriptionOutbox(capacity: 8))
        if case .failure(let error) = refused { #expect(error.code == .invalidPosition) } else { Issue.record("accepted a cursor from the future") }
    }

    // MARK: Slow subscribers

    @Test func slowSubscriber_fallsBehind_writersGoOn_thenCatchesUpWithNoGapOrDuplicate() async throws {
        let h = try EngineHarness()
        let (_, _, outbox) = try await subscribe(h, ["table": "counters", "prefix": ""], capacity: 16)
        // 400 writes while the subscriber reads nothing: far beyond its buffer of 16.
        let engine = h.engine
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for _ in 0..<100 {
                        let event = try Event(json: ["op": "incr", "table": "counters", "key": .string("w\(writer)"), "field": "n"], limits: Limits())
                        let result = await engine.handle(event)
                        #expect(result.error == nil)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(h.engine.subscriptionTotals.stalls > 0, "the subscriber never fell behind; the test shows nothing")
        let changes = try await take(400, from: outbox)
        for writer in 0..<4 {
            let counts = try changes.filter { $0.key == "w\(writer)" }.map { try value($0)?["n"]?.numberValue ?? 0 }
            #expect(counts == (1...100).map(Double.init), "writer \(writer): \(counts.count) changes, not 1...100 in order")
        }
        try await expectQuiet(outbox)
        #expect(h.engine.subscriptionLags().allSatisfy { !$0.catchingUp && $0.records == 0 })
    }

    @Test func oneKey_manySubscribers_eachGetsEveryChange() async throws {
        let h = try EngineHarness()
        var outboxes: [SubscriptionOutbox] = []
        for _ in 0..<200 { outboxes.append(try await subscribe(h, ["table": "users", "key": "hot"]).2) }
        for i in 1...5 { _ = try await h.result(["op": "put", "table": "users", "key": "hot", "value": .number(Double(i))]) }
        for outbox in outboxes {
            #expect(try await take(5, from: outbox).map(value) == [1, 2, 3, 4, 5])
        }
    }

    // MARK: Pacing the feed

    @Test func feedPause_growsWithTheConnectionsWoken_upToItsMaximum() {
        let max = Duration.milliseconds(20)
        #expect(ChangeFeed.pause(afterWaking: 0, microsPerConnection: 20, max: max) == .zero)
        #expect(ChangeFeed.pause(afterWaking: 3, microsPerConnection: 20, max: max) == .microseconds(60))
        #expect(ChangeFeed.pause(afterWaking: 1_000, microsPerConnection: 20, max: max) == .milliseconds(20))
        #expect(ChangeFeed.pause(afterWaking: 10_000, microsPerConnection: 20, max: max) == .milliseconds(20))
        #expect(ChangeFeed.pause(afterWaking: 10_000, microsPerConnection: 0, max: max) == .zero)
    }

    /// A dispatch that woke connections holds the next one back, and what is written
    /// meanwhile arrives after the pause, every change to every subscriber.
    @Test func afterADispatch_theFeedPauses_thenDeliversWhatCameMeanwhile() async throws {
        // Three connections at 100 ms each: a 300 ms pause after every dispatch to them.
        let h = try EngineHarness { $0.subscriptions.feedPauseMicrosPerConnection = 100_000; $0.subscriptions.feedPauseMaxMillis = 300 }
        var outboxes: [SubscriptionOutbox] = []
        for _ in 0..<3 { outboxes.append(try await subscribe(h, ["table": "users", "key": "hot"]).2) }
        _ = try await h.result(["op": "put", "table": "users", "key": "hot", "value": 1])
        #expect(try await take(1, from: outboxes[0]).map(value) == [1])
        let firstArrived = ContinuousClock.now
        for i in 2...4 { _ = try await h.result(["op": "put", "table": "users", "key": "hot", "value": .number(Double(i))]) }
        #expect(try await take(3, from: outboxes[0]).map(value) == [2, 3, 4])
        // A lower bound only, with room for a slow machine: without the pause the three
        // changes follow their commits by a millisecond or so.
        #expect(ContinuousClock.now - firstArrived >= .milliseconds(150), "the feed did not pause after waking three connections")
        for outbox in outboxes.dropFirst() {
            #expect(try await take(4, from: outbox).map(value) == [1, 2, 3, 4])
        }
    }

    @Test func subscribeRecords_areInTheLog_andAuditReDerivesThemClean() async throws {
        let h = try EngineHarness()
        _ = try await h.result(["op": "put", "table": "users", "key": "a1", "value": 1])
        let (_, position, outbox) = try await subscribe(h, ["table": "users", "prefix": "a"])
        _ = try await take(1, from: outbox)
        _ = try await subscribe(h, ["table": "users", "key": "a1", "from": .string(position.token)])
        _ = try await h.result(["op": "put", "table": "users", "key": "a2", "value": 2])
        let report = try AuditTests.audit(h)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        // The prefix subscribe in every partition, the key subscribe in one, and two writes.
        #expect(report.partitions.reduce(0) { $0 + $1.recordsVerified } == UInt64(h.configuration.partitions + 1 + 2))
    }

    // MARK: Refusals

    @Test func subscribe_overPlainRequest_isStreamingOnly() async throws {
        let h = try EngineHarness()
        #expect(try await h.send(["op": "subscribe", "table": "users", "key": "a"]).error?.code == .streamingOnly)
    }

    @Test func subscriptionsBeyondTheMaximum_areRefused() async throws {
        let h = try EngineHarness { $0.subscriptions.max = 3 }
        for _ in 0..<3 { _ = try await subscribe(h, ["table": "users", "key": "a"]) }
        let event = try Event(json: ["op": "subscribe", "table": "users", "key": "a"], limits: Limits())
        let refused = await h.engine.subscribe(event, outbox: SubscriptionOutbox(capacity: 8))
        if case .failure(let error) = refused { #expect(error.code == .tooManySubscriptions) } else { Issue.record("accepted a fourth subscription") }
    }

    @Test func snapshotBeyondTheLimit_isRefused() async throws {
        let h = try EngineHarness { $0.limits.subscriptionSnapshotMax = 5; $0.partitions = 1 }
        for i in 0..<6 { _ = try await h.result(["op": "put", "table": "users", "key": .string("u\(i)"), "value": 0]) }
        let event = try Event(json: ["op": "subscribe", "table": "users"], limits: Limits())
        let refused = await h.engine.subscribe(event, outbox: SubscriptionOutbox(capacity: 8))
        if case .failure(let error) = refused { #expect(error.code == .snapshotTooLarge) } else { Issue.record("accepted an oversized snapshot") }
        #expect(h.engine.subscriptionTotals.open == 0)
    }
}

/// Runs `body`, failing if it takes longer than `limit`.
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut() }
        return value
    }
}

struct TimedOut: Error {}
