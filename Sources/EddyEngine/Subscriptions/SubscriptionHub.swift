import EddyLog
import EddyModel
import EddyThreads
import Foundation
import Synchronization

/// Every open subscription, and where each one is in each of its partitions.
///
/// Per partition, a subscription is either *live*, offered each durable change as the feed
/// dispatches it, or *catching up*, reading the change log (the partition log) from its
/// cursor on the catch-up thread. Both happen under one lock, with `published[p]` (the last
/// offset the feed dispatched for `p`) as the hand-over point:
/// - a live offer that does not fit the outbox turns the subscription to catching up, with
///   its cursor at the offset before the change that did not fit;
/// - catching up reads records up to `published[p]` and, once its cursor reaches it, turns
///   live again. The feed's next entry for `p` starts right after `published[p]`.
/// So no change is skipped or sent twice, and writers never wait for a subscriber.
final class SubscriptionHub: Sendable {
    enum Cursor: Sendable {
        /// Not attached yet: its subscribe event has not been dispatched in this partition.
        case pending
        /// Offered every change after `floor` as it is dispatched.
        case live(floor: UInt64)
        /// Sent everything through the offset; the rest comes from the log.
        case catchingUp(UInt64)
    }

    /// A class, so the dispatch loop takes each subscriber from `registered` once, as one
    /// reference: copying a struct out of the dictionary per delivery retained its fields
    /// every time, which was most of the feed thread's work in a fan-out. Only touched
    /// under the hub's lock.
    private final class Registered {
        let subscription: Subscription
        var cursors: [Int: Cursor]
        var delivered: UInt64 = 0

        init(subscription: Subscription, cursors: [Int: Cursor]) {
            self.subscription = subscription
            self.cursors = cursors
        }
    }

    private struct State {
        var registered: [UInt64: Registered] = [:]
        /// table → key → handles, for one-key subscriptions.
        var byKey: [String: [String: Set<UInt64>]] = [:]
        /// table → prefix bytes → handles, for prefix and whole-table subscriptions.
        var byPrefix: [String: [[UInt8]: Set<UInt64>]] = [:]
        /// table → prefix length → how many prefixes of that length are registered.
        var prefixLengths: [String: [Int: Int]] = [:]
        var published: [UInt64]
        var nextHandle: UInt64 = 1
        var delivered: UInt64 = 0
        var stalls: UInt64 = 0
    }

    private let state: Mutex<State>
    /// How many subscriptions are registered, readable without the lock (workers ask it per round).
    private let registeredCount = Atomic<Int>(0)
    private let store: any LogStore
    let subscriptionsMax: Int
    private let catchUpQueue = CatchUpQueue()
    /// Log records read per catch-up step, at most.
    static let catchUpChunk = 256
    /// Chunks one subscription reads before the next waiting subscription gets a turn.
    static let catchUpStepsPerTurn = 16

    init(partitions: Int, store: any LogStore, subscriptionsMax: Int) {
        state = Mutex(State(published: Array(repeating: 0, count: partitions)))
        self.store = store
        self.subscriptionsMax = subscriptionsMax
    }

    private let catchUpFinished = DispatchSemaphore(value: 0)
    private let stopHeartbeat = DispatchSemaphore(value: 0)

    /// Starts the catch-up thread, and the heartbeat thread that keeps idle connections open.
    func start(heartbeatSeconds: Double) {
        NamedThread.start("eddy-catch-up") { [self] in
            while let handle = catchUpQueue.take() {
                catchUp(handle)
            }
            catchUpFinished.signal()
        }
        NamedThread.start("eddy-heartbeat") { [self] in
            var slice = 0
            while stopHeartbeat.wait(timeout: .now() + heartbeatSeconds / Double(Self.heartbeatSlices)) == .timedOut {
                heartbeat(slice: slice)
                slice = (slice + 1) % Self.heartbeatSlices
            }
        }
    }

    /// Stops both threads; waits for the catch-up thread (it reads storage, which closes next).
    func stop() {
        stopHeartbeat.signal()
        catchUpQueue.close()
        catchUpFinished.wait()
    }

    /// Called by each operator at start: everything through `offset` is already on disk.
    func setPublished(_ partition: Int, _ offset: UInt64) {
        state.withLock { $0.published[partition] = offset }
    }

    // MARK: Registering

    /// Reserves a handle and registers `make(handle)` as pending in its partitions, or fails
    /// when the server holds `subscriptionsMax` subscriptions.
    func register(_ make: (UInt64) -> Subscription) -> Subscription? {
        state.withLock { state in
            guard state.registered.count < subscriptionsMax else { return nil }
            let handle = state.nextHandle
            state.nextHandle += 1
            let subscription = make(handle)
            registeredCount.add(1, ordering: .relaxed)
            state.registered[handle] = Registered(subscription: subscription, cursors: Dictionary(uniqueKeysWithValues: subscription.partitions.map { ($0, .pending) }))
            if let key = subscription.key {
                state.byKey[subscription.table, default: [:]][key, default: []].insert(handle)
            } else {
                state.byPrefix[subscription.table, default: [:]][subscription.prefix, default: []].insert(handle)
                state.prefixLengths[subscription.table, default: [:]][subscription.prefix.count, default: 0] += 1
            }
            return subscription
        }
    }

    /// Stops delivering to `subscription`. Harmless if it already ended.
    func remove(_ subscription: Subscription) {
        state.withLock { state in
            remove(subscription.handle, from: &state)
        }
    }

    private func remove(_ handle: UInt64, from state: inout State) {
        guard let registered = state.registered.removeValue(forKey: handle) else { return }
        let subscription = registered.subscription
        registeredCount.subtract(1, ordering: .relaxed)
        if let key = subscription.key {
            state.byKey[subscription.table]?[key]?.remove(handle)
            if state.byKey[subscription.table]?[key]?.isEmpty == true { state.byKey[subscription.table]?[key] = nil }
        } else {
            state.byPrefix[subscription.table]?[subscription.prefix]?.remove(handle)
            if state.byPrefix[subscription.table]?[subscription.prefix]?.isEmpty == true {
                state.byPrefix[subscription.table]?[subscription.prefix] = nil
            }
            state.prefixLengths[subscription.table]?[subscription.prefix.count]? -= 1
            if state.prefixLengths[subscription.table]?[subscription.prefix.count] == 0 {
                state.prefixLengths[subscription.table]?[subscription.prefix.count] = nil
            }
        }
    }

    /// Ends `handle` with `error`: removed, and told so (the message is forced into its outbox).
    private func end(_ handle: UInt64, _ error: EddyError) {
        let subscription: Subscription? = state.withLock { state in
            defer { remove(handle, from: &state) }
            return state.registered[handle]?.subscription
        }
        subscription?.outbox.offer([.ended(subscription: subscription!.id, error)], force: true)
    }

    var count: Int { registeredCount.load(ordering: .relaxed) }

    // MARK: Dispatching the feed

    /// Offers the entries' changes to the live subscribers of their partitions, attaches
    /// their subscriptions, and advances `published`. Called by the feed with every entry
    /// that became durable since its last call, in log order per partition.
    ///
    /// A subscriber's messages from consecutive writes to one partition are offered as one
    /// batch, so its connection is woken, and writes to its socket, once for all of them
    /// rather than once per write: in a fan-out, the socket writes are most of the cost.
    /// Returns how many batches it offered: the connections it woke, at most.
    @discardableResult
    func dispatch(_ entries: [(entry: FeedEntry, overflowed: Bool)]) -> Int {
        var stalled: [UInt64] = []
        let offered = state.withLock { state in
            var pending = PendingOffers()
            for (entry, overflowed) in entries {
                let p = entry.partition
                // Batches hold one partition's messages, so a stall knows where to resume.
                if pending.partition != p { pending.offer(&state, stalled: &stalled) }
                pending.partition = p
                for item in entry.items {
                    switch item {
                    case .attach(let offset, let subscription, let snapshot):
                        // The snapshot must follow whatever the subscriber was sent before it.
                        pending.offer(&state, stalled: &stalled)
                        if Self.attach(&state, subscription, partition: p, at: offset, snapshot: snapshot) {
                            stalled.append(subscription.handle)
                        }
                    case .write(let offset, let op, let event, let changes):
                        // The cursor of every subscription to this partition alone, shared.
                        let ownCursor = Self.singlePartitionCursor(p, offset)
                        for change in changes {
                            // Rendered once, shared by every subscriber of the change.
                            var body: SubscriptionChange.Body?
                            Self.forEachMatch(state, table: change.table, key: change.key) { handle in
                                guard let registered = state.registered[handle], case .live(let floor)? = registered.cursors[p], offset > floor else { return }
                                if body == nil { body = .init(kind: op.rawValue, table: change.table, key: change.key, value: change.value, event: event) }
                                pending.add(SubscriptionMessage.change(SubscriptionChange(
                                    subscription: registered.subscription.id,
                                    cursor: registered.subscription.partitions.count == 1 ? ownCursor : Self.cursor(state, registered, partition: p, offset: offset),
                                    body: body!)), handle: handle, registered: registered, offset: offset)
                            }
                        }
                    }
                }
                if overflowed {
                    // The feed dropped this entry's changes: every live subscriber of the
                    // partition reads them from the log instead.
                    pending.offer(&state, stalled: &stalled)
                    for (handle, registered) in state.registered {
                        if case .live(let floor)? = registered.cursors[p], floor < entry.lastOffset {
                            Self.stall(&state, handle, partition: p, before: max(floor, state.published[p]) + 1)
                            stalled.append(handle)
                        }
                    }
                }
                state.published[p] = max(state.published[p], entry.lastOffset)
            }
            pending.offer(&state, stalled: &stalled)
            return pending.offered
        }
        for handle in stalled { scheduleCatchUp(handle) }
        return offered
    }

    /// Attaches `subscription` in `partition` at its subscribe event's `offset`: live after
    /// its snapshot, or catching up from its cursor when it resumes (no snapshot). True if
    /// it must catch up from the log; false if it went live, or has gone meanwhile.
    private static func attach(_ state: inout State, _ subscription: Subscription, partition p: Int, at offset: UInt64,
                               snapshot: [(key: String, value: [UInt8])]?) -> Bool {
        guard let registered = state.registered[subscription.handle] else { return false }
        guard let snapshot else {
            registered.cursors[p] = .catchingUp(subscription.from?.offsets[p] ?? 0)
            return true
        }
        let cursor = cursor(state, registered, partition: p, offset: offset)
        let messages = snapshot.map { item in
            SubscriptionMessage.change(SubscriptionChange(
                subscription: subscription.id, cursor: cursor,
                body: .init(kind: "snapshot", table: subscription.table, key: item.key, value: item.value, event: nil)))
        }
        // Bounded by the snapshot limit, so it may exceed the live capacity.
        subscription.outbox.offer(messages, force: true)
        registered.cursors[p] = .live(floor: offset)
        return false
    }

    /// Live messages of one partition not yet offered, one batch per subscriber in the
    /// order each was first matched.
    private struct PendingOffers {
        var partition = -1
        private var batches: [(handle: UInt64, registered: Registered, firstOffset: UInt64, messages: [SubscriptionMessage])] = []
        private var slots: [UInt64: Int] = [:]
        /// Batches offered so far.
        private(set) var offered = 0

        mutating func add(_ message: SubscriptionMessage, handle: UInt64, registered: Registered, offset: UInt64) {
            if let slot = slots[handle] {
                batches[slot].messages.append(message)
            } else {
                slots[handle] = batches.count
                batches.append((handle, registered, offset, [message]))
            }
        }

        /// Offers each batch whole. One that does not fit stalls its subscriber before its
        /// first message, so the catch-up resends all of it from the log and nothing is skipped.
        mutating func offer(_ state: inout State, stalled: inout [UInt64]) {
            offered += batches.count
            for batch in batches {
                if batch.registered.subscription.outbox.offer(batch.messages) {
                    batch.registered.delivered += UInt64(batch.messages.count)
                    state.delivered += UInt64(batch.messages.count)
                } else {
                    SubscriptionHub.stall(&state, batch.handle, partition: partition, before: batch.firstOffset)
                    stalled.append(batch.handle)
                }
            }
            batches.removeAll(keepingCapacity: true)
            slots.removeAll(keepingCapacity: true)
        }
    }

    /// Calls `body` with every subscription whose filter matches `table`/`key`.
    private static func forEachMatch(_ state: State, table: String, key: String, _ body: (UInt64) -> Void) {
        state.byKey[table]?[key]?.forEach(body)
        guard let lengths = state.prefixLengths[table], let prefixes = state.byPrefix[table] else { return }
        let bytes = Array(key.utf8)
        for length in lengths.keys where length <= bytes.count {
            prefixes[Array(bytes[..<length])]?.forEach(body)
        }
    }

    /// Turns every live partition of `handle` to catching up; `partition` resumes at the
    /// offset before `before`, the others where their live feed had reached.
    private static func stall(_ state: inout State, _ handle: UInt64, partition: Int, before offset: UInt64) {
        guard let registered = state.registered[handle] else { return }
        for (q, cursor) in registered.cursors {
            guard case .live(let floor) = cursor else { continue }
            registered.cursors[q] = .catchingUp(q == partition ? max(floor, offset - 1) : max(floor, state.published[q]))
        }
        state.stalls += 1
    }

    /// The offset through which `handle` has been sent everything of partition `q`.
    private static func deliveredThrough(_ state: State, _ registered: Registered, _ q: Int) -> UInt64 {
        switch registered.cursors[q] ?? .pending {
        case .pending: registered.subscription.from?.offsets[q] ?? 0
        case .live(let floor): max(floor, state.published[q])
        case .catchingUp(let offset): offset
        }
    }

    /// The resume token for a message of `handle` at `offset` of `partition`.
    /// The cursor of a subscription to one partition: that partition's offset.
    private static func singlePartitionCursor(_ partition: Int, _ offset: UInt64) -> String {
        "\(partition):\(offset)"
    }

    private static func cursor(_ state: State, _ registered: Registered, partition: Int, offset: UInt64) -> String {
        if registered.subscription.partitions.count == 1 { return singlePartitionCursor(partition, offset) }
        var offsets: [Int: UInt64] = [:]
        for q in registered.subscription.partitions {
            offsets[q] = q == partition ? offset : deliveredThrough(state, registered, q)
        }
        return Position(offsets).token
    }

    // MARK: Catching up

    private func scheduleCatchUp(_ handle: UInt64) {
        catchUpQueue.add(handle)
    }

    /// One subscription's catch-up, on the catch-up thread: reads its partitions' logs from
    /// its cursors, a chunk at a time while its outbox has room, and turns each partition
    /// live once its cursor reaches `published`.
    private func catchUp(_ handle: UInt64) {
        for _ in 0..<Self.catchUpStepsPerTurn {
            // Under the lock: hand over what has caught up; pick the next partition to read.
            let next: (subscription: Subscription, partition: Int, from: UInt64, through: UInt64)?? = state.withLock { state in
                guard let registered = state.registered[handle] else { return .some(nil) }
                var pick: (Subscription, Int, UInt64, UInt64)? = nil
                for (q, cursor) in registered.cursors.sorted(by: { $0.key < $1.key }) {
                    guard case .catchingUp(let offset) = cursor else { continue }
                    if offset >= state.published[q] {
                        registered.cursors[q] = .live(floor: offset)
                    } else if pick == nil {
                        pick = (registered.subscription, q, offset, state.published[q])
                    }
                }
                return .some(pick)
            }
            guard let next, let (subscription, partition, from, through) = next else { return }
            let room = subscription.outbox.freeCapacity
            guard room > 0 else {
                subscription.outbox.whenRoom { [self] in scheduleCatchUp(handle) }
                return
            }
            let records: [LogEntry]
            do {
                records = try store.read(partition: partition, from: from + 1, limit: min(Self.catchUpChunk, room, Int(clamping: through - from)))
            } catch LogError.truncated(_, _, let firstRetained) {
                end(handle, EddyError(.cursorExpired, "the change log of partition \(partition) now starts at offset \(firstRetained); changes after cursor offset \(from) are past retention. Subscribe again without 'from' for a new snapshot"))
                return
            } catch {
                end(handle, EddyError(.partitionUnavailable, "the change log of partition \(partition) cannot be read: \(error)"))
                return
            }
            guard let last = records.last else {
                end(handle, EddyError(.partitionUnavailable, "the change log of partition \(partition) has no record \(from + 1), though \(through) was published"))
                return
            }
            var changes: [(offset: UInt64, op: Op, event: String, change: Change)] = []
            for record in records {
                // A pruned read record: reads change nothing a subscriber is sent.
                guard let bytes = record.payload else { continue }
                guard let payload = try? LogPayload(decoding: bytes) else {
                    end(handle, EddyError(.partitionUnavailable, "log record \(record.offset) of partition \(partition) is damaged"))
                    return
                }
                guard case .applied(let applied) = payload.outcome else { continue }
                let event = payload.event.id ?? OperatorCore.serverID(partition: partition, offset: record.offset, epoch: payload.epoch)
                for change in applied where subscription.matches(table: change.table, key: change.key) {
                    changes.append((record.offset, payload.event.op, event, change))
                }
            }
            state.withLock { state in
                guard let registered = state.registered[handle] else { return }
                let messages = changes.map { item in
                    SubscriptionMessage.change(SubscriptionChange(
                        subscription: subscription.id, cursor: Self.cursor(state, registered, partition: partition, offset: item.offset),
                        body: .init(kind: item.op.rawValue, table: item.change.table, key: item.change.key, value: item.change.value, event: item.event)))
                }
                // Room was checked above and only this thread fills a catching-up subscription.
                subscription.outbox.offer(messages, force: true)
                registered.cursors[partition] = .catchingUp(last.offset)
                registered.delivered += UInt64(messages.count)
                state.delivered += UInt64(messages.count)
            }
        }
        // Others wait their turn: continue after them.
        scheduleCatchUp(handle)
    }

    // MARK: Observing

    /// Heartbeats are spread over their interval in this many slices: with 10,000 idle
    /// streams, writing all their heartbeats at once held the event loops for tens of
    /// milliseconds, which every change delivered meanwhile waited out.
    static let heartbeatSlices = 20

    /// Offers a heartbeat to every outbox in `slice` that had nothing to send since its last
    /// check. Each outbox is in one slice, so it is checked once per heartbeat interval.
    func heartbeat(slice: Int) {
        let outboxes = state.withLock { state in
            var inSlice: [ObjectIdentifier: SubscriptionOutbox] = [:]
            for registered in state.registered.values {
                let outbox = registered.subscription.outbox
                let id = ObjectIdentifier(outbox)
                if abs(id.hashValue % Self.heartbeatSlices) == slice { inSlice[id] = outbox }
            }
            return inSlice
        }
        for outbox in outboxes.values where !outbox.takeActivity() {
            outbox.offer([.heartbeat], force: true)
            _ = outbox.takeActivity()
        }
    }

    func lags() -> [SubscriptionLag] {
        state.withLock { state in
            state.registered.values.map { registered in
                var records: UInt64 = 0
                var catchingUp = false
                for q in registered.subscription.partitions {
                    let through = Self.deliveredThrough(state, registered, q)
                    records += state.published[q] > through ? state.published[q] - through : 0
                    if case .catchingUp = registered.cursors[q] { catchingUp = true }
                }
                return SubscriptionLag(subscription: registered.subscription.id, records: records, catchingUp: catchingUp,
                           buffered: registered.subscription.outbox.depth, delivered: registered.delivered)
            }
        }
    }

    var totals: (delivered: UInt64, stalls: UInt64) {
        state.withLock { ($0.delivered, $0.stalls) }
    }
}

/// Subscriptions waiting to catch up, each at most once, for the catch-up thread.
private final class CatchUpQueue: @unchecked Sendable {
    // Why unchecked: all mutable state is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var queued: [UInt64] = []
    private var members: Set<UInt64> = []
    private var closed = false

    func add(_ handle: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, members.insert(handle).inserted else { return }
        queued.append(handle)
        condition.signal()
    }

    /// The next handle, waiting for one; nil once closed.
    func take() -> UInt64? {
        condition.lock()
        defer { condition.unlock() }
        while queued.isEmpty && !closed { condition.wait() }
        if closed { return nil }
        let handle = queued.removeFirst()
        members.remove(handle)
        return handle
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
