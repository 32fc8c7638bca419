import Synchronization

/// The bounded buffer between the engine and one streaming connection (an SSE response or a
/// WebSocket). The engine offers messages without ever waiting; the connection's task takes
/// them in order and writes them to the socket.
///
/// When a live offer does not fit, the offer fails and the subscription falls back to reading
/// the change log from its cursor (see `SubscriptionHub`), so a slow reader costs writers
/// nothing and loses nothing. Once the connection has drained its buffer to half, it calls
/// back whoever waits for room.
public final class SubscriptionOutbox: Sendable {
    /// Messages held before live offers fail.
    public let capacity: Int

    private struct State {
        var messages: [SubscriptionMessage] = []
        var waiting: CheckedContinuation<[SubscriptionMessage]?, Never>?
        var whenRoom: [@Sendable () -> Void] = []
        var closed = false
        /// No more offers; the reader still gets what is buffered, then nil.
        var finishing = false
        /// Whether anything was offered since the last heartbeat check.
        var active = false
    }

    private let state = Mutex(State())

    public init(capacity: Int) {
        precondition(capacity > 0, "outbox capacity must be positive")
        self.capacity = capacity
    }

    /// Adds `messages` if they fit. `force` adds them regardless: for snapshots and results,
    /// which are bounded elsewhere (snapshot size, events in flight per connection).
    /// Returns false when they do not fit or the outbox is closed.
    @discardableResult
    public func offer(_ messages: [SubscriptionMessage], force: Bool = false) -> Bool {
        typealias Wake = (CheckedContinuation<[SubscriptionMessage]?, Never>, [SubscriptionMessage])
        let (accepted, wake): (Bool, Wake?) = state.withLock { state in
            if state.closed || state.finishing { return (false, nil) }
            guard force || state.messages.count + messages.count <= capacity else { return (false, nil) }
            state.active = true
            if let waiting = state.waiting {
                state.waiting = nil
                let batch = state.messages + messages
                state.messages.removeAll(keepingCapacity: true)
                return (true, (waiting, batch))
            }
            state.messages.append(contentsOf: messages)
            return (true, nil)
        }
        if let (continuation, batch) = wake { continuation.resume(returning: batch) }
        return accepted
    }

    /// Room left for live offers.
    public var freeCapacity: Int {
        state.withLock { $0.closed ? 0 : max(0, capacity - $0.messages.count) }
    }

    public var depth: Int { state.withLock { $0.messages.count } }

    /// Everything buffered, waiting if there is nothing; nil once closed.
    public func next() async -> [SubscriptionMessage]? {
        let (taken, callbacks): ([SubscriptionMessage]?, [@Sendable () -> Void]) = state.withLock { state in
            if state.closed { return (nil, []) }
            guard !state.messages.isEmpty else { return (state.finishing ? nil : [], []) }
            let batch = state.messages
            state.messages.removeAll(keepingCapacity: true)
            let callbacks = state.whenRoom
            state.whenRoom.removeAll()
            return (batch, callbacks)
        }
        callbacks.forEach { $0() }
        if let taken, !taken.isEmpty { return taken }
        if taken == nil { return nil }
        // Cancelling the reader (a connection closing, a test's timeout) returns an empty batch.
        let batch = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[SubscriptionMessage]?, Never>) in
                let immediate: [SubscriptionMessage]?? = state.withLock { state in
                    if state.closed || (state.finishing && state.messages.isEmpty) { return .some(nil) }
                    if !state.messages.isEmpty {
                        let batch = state.messages
                        state.messages.removeAll(keepingCapacity: true)
                        return .some(batch)
                    }
                    if Task.isCancelled { return .some([]) }
                    precondition(state.waiting == nil, "one reader per outbox")
                    state.waiting = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiting = state.withLock { state in
                defer { state.waiting = nil }
                return state.waiting
            }
            waiting?.resume(returning: [])
        }
        // Room was made: wake whoever waited for it.
        let waiters = state.withLock { state in
            defer { state.whenRoom.removeAll() }
            return state.whenRoom
        }
        waiters.forEach { $0() }
        return batch
    }

    /// Calls `action` once the buffer is at most half full: now if it already is, or when the
    /// reader next takes messages. Never called once the outbox is closed.
    public func whenRoom(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.closed { return false }
            if state.messages.count <= capacity / 2 { return true }
            state.whenRoom.append(action)
            return false
        }
        if now { action() }
    }

    /// True if anything was offered since the last call; used to send heartbeats only on idle connections.
    func takeActivity() -> Bool {
        state.withLock { state in
            defer { state.active = false }
            return state.active
        }
    }

    /// Takes no more offers; the reader gets what is buffered, then nil.
    public func finish() {
        let waiting = state.withLock { state in
            state.finishing = true
            defer { state.waiting = nil }
            return state.messages.isEmpty ? state.waiting : nil
        }
        waiting?.resume(returning: nil)
    }

    /// Stops the outbox: the reader gets nil, offers fail, room callbacks are dropped.
    public func close() {
        let waiting = state.withLock { state in
            state.closed = true
            state.messages.removeAll()
            state.whenRoom.removeAll()
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume(returning: nil)
    }

    public var isClosed: Bool { state.withLock { $0.closed } }
}
