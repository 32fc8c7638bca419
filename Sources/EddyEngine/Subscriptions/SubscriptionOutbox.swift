import Synchronization

/// The bounded buffer between the engine and one streaming connection (an SSE response or a
/// WebSocket). The engine offers messages without ever waiting; the connection takes them in
/// order and writes them to the socket, either from a task (`next()`) or straight from its
/// event loop (`take()` and `whenReady`), which costs no task per delivery.
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
        /// The reader's wake-up, called once when there is something to take.
        var reader: (@Sendable () -> Void)?
        var whenRoom: [@Sendable () -> Void] = []
        var closed = false
        /// No more offers; the reader still gets what is buffered, then nil.
        var finishing = false
        /// Whether anything was offered since the last heartbeat check.
        var active = false

        /// Takes the reader's wake-up, if it waits.
        mutating func wakeReader() -> (@Sendable () -> Void)? {
            defer { reader = nil }
            return reader
        }
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
        let (accepted, wake): (Bool, (@Sendable () -> Void)?) = state.withLock { state in
            if state.closed || state.finishing { return (false, nil) }
            guard force || state.messages.count + messages.count <= capacity else { return (false, nil) }
            state.active = true
            state.messages.append(contentsOf: messages)
            return (true, state.wakeReader())
        }
        wake?()
        return accepted
    }

    /// Room left for live offers.
    public var freeCapacity: Int {
        state.withLock { $0.closed ? 0 : max(0, capacity - $0.messages.count) }
    }

    public var depth: Int { state.withLock { $0.messages.count } }

    /// Everything buffered, without waiting: empty if there is nothing yet; nil once closed,
    /// or finished and drained. Taking makes room, so it calls back whoever waits for it.
    public func take() -> [SubscriptionMessage]? {
        let (taken, callbacks): ([SubscriptionMessage]?, [@Sendable () -> Void]) = state.withLock { state in
            if state.closed { return (nil, []) }
            guard !state.messages.isEmpty else { return (state.finishing ? nil : [], []) }
            let batch = state.messages
            state.messages.removeAll(keepingCapacity: true)
            defer { state.whenRoom.removeAll() }
            return (batch, state.whenRoom)
        }
        callbacks.forEach { $0() }
        return taken
    }

    /// Calls `wake` once there is something to `take()`: a message, the end of a finished
    /// outbox, or its close; at once if there already is. It replaces an earlier `wake` not
    /// yet called: one reader per outbox.
    public func whenReady(_ wake: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.closed || state.finishing || !state.messages.isEmpty { return true }
            state.reader = wake
            return false
        }
        if now { wake() }
    }

    /// Everything buffered, waiting if there is nothing; nil once closed. Cancelling the
    /// reader's task (a connection closing, a test's timeout) returns an empty batch.
    public func next() async -> [SubscriptionMessage]? {
        guard let taken = take() else { return nil }
        if !taken.isEmpty || Task.isCancelled { return taken }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                whenReady { continuation.resume() }
                if Task.isCancelled { cancelWait() }
            }
        } onCancel: {
            cancelWait()
        }
        return take()
    }

    /// Wakes a waiting reader with nothing new; it takes what there is (maybe nothing).
    private func cancelWait() {
        state.withLock { $0.wakeReader() }?()
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
        state.withLock { state in
            state.finishing = true
            return state.wakeReader()
        }?()
    }

    /// Stops the outbox: the reader gets nil, offers fail, room callbacks are dropped.
    public func close() {
        state.withLock { state in
            state.closed = true
            state.messages.removeAll()
            state.whenRoom.removeAll()
            return state.wakeReader()
        }?()
    }

    public var isClosed: Bool { state.withLock { $0.closed } }
}
