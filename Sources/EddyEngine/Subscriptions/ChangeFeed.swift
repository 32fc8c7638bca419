import EddyLog
import EddyThreads
import Foundation

/// Carries committed groups from the partition workers to the subscription hub, on a thread
/// of its own, releasing each only once its commit is durable.
///
/// Workers only append here (never waiting); the feed thread does the matching and the
/// offers. Its queue is bounded by the changes it holds: past `changesMax`, an entry's changes
/// are dropped (its attachments are kept) and the hub sends the live subscribers of that
/// partition to the log instead, so a burst costs subscribers latency, never a change.
///
/// After each dispatch the feed pauses in proportion to the connections it woke (see
/// `pause(afterWaking:microsPerConnection:max:)`): a fan-out's changes then reach each
/// socket in fewer, larger writes, and the event loops get time for the requests that make
/// more changes.
final class ChangeFeed: @unchecked Sendable {
    // Why unchecked: all mutable state is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var queue: [(entry: FeedEntry, overflowed: Bool)] = []
    private var head = 0
    private var heldChanges = 0
    private var durable = DurabilityTicket(0)
    private var closed = false
    private let hub: SubscriptionHub
    private let finished = DispatchSemaphore(value: 0)
    let changesMax: Int
    private let pauseMicrosPerConnection: Int
    private let pauseMax: Duration
    /// Changes handed to the hub in one dispatch, at most (one entry may exceed it alone).
    static let dispatchChangesMax = 256

    init(hub: SubscriptionHub, changesMax: Int, pauseMicrosPerConnection: Int, pauseMaxMillis: Int) {
        self.hub = hub
        self.changesMax = changesMax
        self.pauseMicrosPerConnection = pauseMicrosPerConnection
        self.pauseMax = .milliseconds(pauseMaxMillis)
    }

    func start() {
        NamedThread.start("eddy-changefeed") { [self] in
            run()
            finished.signal()
        }
    }

    /// Dispatches what is durable, then stops the thread.
    func stop() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    /// Whether any subscription is open. With none, workers hand over nothing: a subscription
    /// that attaches later only needs changes after its own subscribe event, which comes
    /// through the feed itself, and one that resumes reads the log.
    var isWanted: Bool { hub.count > 0 }

    /// Queues a committed group (worker thread, right after its commit).
    func append(_ entry: FeedEntry) {
        var entry = entry
        condition.lock()
        defer { condition.unlock() }
        let changes = entry.changeCount
        var overflowed = false
        if heldChanges + changes > changesMax {
            entry.items.removeAll { if case .write = $0 { return true } else { return false } }
            overflowed = true
        } else {
            heldChanges += changes
        }
        queue.append((entry, overflowed))
        condition.signal()
    }

    /// Everything through `ticket` is on disk (from the WAL sync's callback).
    func markDurable(_ ticket: DurabilityTicket) {
        condition.lock()
        defer { condition.unlock() }
        if ticket > durable {
            durable = ticket
            // Wake the feed thread only if something waits for this.
            if head < queue.count { condition.signal() }
        }
    }

    private func isReady(_ entry: FeedEntry) -> Bool {
        entry.ticket.map { $0 <= durable } ?? true
    }

    private func run() {
        while true {
            condition.lock()
            while !closed && (head == queue.count || !isReady(queue[head].entry)) {
                condition.wait()
            }
            if head == queue.count || !isReady(queue[head].entry) {
                condition.unlock()
                return  // closed, and nothing durable is left
            }
            var ready: [(entry: FeedEntry, overflowed: Bool)] = []
            while head < queue.count && isReady(queue[head].entry) {
                ready.append(queue[head])
                if !queue[head].overflowed { heldChanges -= queue[head].entry.changeCount }
                head += 1
            }
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            // Each dispatch holds the hub's lock (subscribes, catch-ups and heartbeats wait
            // for it), so a backlog goes in slices of a bounded number of changes.
            var slice: [(entry: FeedEntry, overflowed: Bool)] = []
            var sliceChanges = 0
            var offered = 0
            for item in ready {
                slice.append(item)
                sliceChanges += item.entry.changeCount
                if sliceChanges >= Self.dispatchChangesMax {
                    offered += hub.dispatch(slice)
                    slice.removeAll(keepingCapacity: true)
                    sliceChanges = 0
                }
            }
            if !slice.isEmpty { offered += hub.dispatch(slice) }
            wait(Self.pause(afterWaking: offered, microsPerConnection: pauseMicrosPerConnection, max: pauseMax))
        }
    }

    /// How long the feed waits after a dispatch that woke `connections`: `microsPerConnection`
    /// for each, at most `max`.
    ///
    /// Why: every connection woken costs a socket write (and a wake-up of its reader), and
    /// without a pause the feed dispatches again as soon as the next commit is durable, so a
    /// key with 1,000 subscribers cost 1,000 writes per group commit, each carrying a change
    /// or two. Waiting about as long as those writes take lets the next dispatch carry
    /// every change made meanwhile, in one write per connection. A dispatch that woke a few
    /// connections pauses a few microseconds, which is no pause at all.
    static func pause(afterWaking connections: Int, microsPerConnection: Int, max: Duration) -> Duration {
        min(max, .microseconds(connections * microsPerConnection))
    }

    /// Waits `pause`, or until the feed is stopped. Commits meanwhile queue up (bounded by
    /// `changesMax`) and go in the next dispatch.
    private func wait(_ pause: Duration) {
        // Below this, sleeping costs more than it saves.
        guard pause >= .microseconds(100) else { return }
        let (seconds, attoseconds) = pause.components
        let deadline = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
        condition.lock()
        while !closed && condition.wait(until: deadline) {}
        condition.unlock()
    }
}
