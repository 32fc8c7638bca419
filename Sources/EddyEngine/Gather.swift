import Synchronization

/// Collects the replies to a known number of pieces of work, sent from any partition
/// threads, and hands them over in order once all have arrived. It is how a batch, a scan,
/// and a fan-out query wait for their parts without blocking a thread.
final class Gather: Sendable {
    typealias Waiter = @Sendable ([PartitionReply?]) -> Void

    private struct State {
        var replies: [PartitionReply?]
        var remaining: Int
        var waiter: Waiter?
        /// The timeout passed: whoever waits now gets what has arrived.
        var expired = false
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(replies: Array(repeating: nil, count: count), remaining: count, waiter: nil))
    }

    func deliver(_ reply: PartitionReply, at index: Int) {
        let done: (Waiter, [PartitionReply?])? = state.withLock { state in
            precondition(state.replies[index] == nil, "reply \(index) delivered twice")
            state.replies[index] = reply
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.replies)
        }
        if let (waiter, replies) = done { waiter(replies) }
    }

    /// Calls `done` with every reply once all have arrived: at once if they already have,
    /// otherwise on the thread that delivers the last. For work whose every piece is always
    /// answered (a result, or a failure when it cannot run). It is how the request path
    /// waits without a task: the last partition thread to answer carries the result on.
    func whenComplete(_ done: @escaping @Sendable ([PartitionReply]) -> Void) {
        setWaiter { done($0.map { $0! }) }
    }

    /// Every reply, once all have arrived.
    func wait() async -> [PartitionReply] {
        await withCheckedContinuation { continuation in whenComplete { continuation.resume(returning: $0) } }
    }

    /// Calls `done` with the replies that arrived by `deadline` (a missing one is nil): at once
    /// if all have, otherwise on the thread that delivers the last or on the `deadlines`
    /// thread. A fan-out gives up on a slow part rather than hold the client forever.
    func whenComplete(by deadline: ContinuousClock.Instant, deadlines: Deadlines, _ done: @escaping Waiter) {
        let token = deadlines.watch(until: deadline) { [self] in expire() }
        setWaiter { replies in
            deadlines.unwatch(token)
            done(replies)
        }
    }

    private func setWaiter(_ waiter: @escaping Waiter) {
        let ready: [PartitionReply?]? = state.withLock { state in
            if state.remaining == 0 || state.expired { return state.replies }
            state.waiter = waiter
            return nil
        }
        if let ready { waiter(ready) }
    }

    /// Hands over what has arrived so far; later replies are ignored.
    private func expire() {
        let partial: (Waiter, [PartitionReply?])? = state.withLock { state in
            state.expired = true
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.replies)
        }
        if let (waiter, replies) = partial { waiter(replies) }
    }
}
