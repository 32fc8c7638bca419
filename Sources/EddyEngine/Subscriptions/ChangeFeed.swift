import EddyLog
import Foundation

/// Carries committed groups from the partition workers to the subscription hub, on a thread
/// of its own, releasing each only once its commit is durable.
///
/// Workers only append here (never waiting); the feed thread does the matching and the
/// offers. Its queue is bounded by the changes it holds: past `changesMax`, an entry's changes
/// are dropped (its attachments are kept) and the hub sends the live subscribers of that
/// partition to the log instead, so a burst costs subscribers latency, never a change.
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
    /// Changes handed to the hub in one dispatch, at most (one entry may exceed it alone).
    static let dispatchChangesMax = 256

    init(hub: SubscriptionHub, changesMax: Int) {
        self.hub = hub
        self.changesMax = changesMax
    }

    func start() {
        let thread = Thread { [self] in
            Thread.current.name = "eddy-changefeed"
            run()
            finished.signal()
        }
        thread.start()
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
            for item in ready {
                slice.append(item)
                sliceChanges += item.entry.changeCount
                if sliceChanges >= Self.dispatchChangesMax {
                    hub.dispatch(slice)
                    slice.removeAll(keepingCapacity: true)
                    sliceChanges = 0
                }
            }
            if !slice.isEmpty { hub.dispatch(slice) }
        }
    }
}
