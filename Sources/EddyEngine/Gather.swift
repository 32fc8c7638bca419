import Synchronization

/// Collects the replies to a known number of pieces of work, sent from any partition
/// threads, and hands them over in order once all have arrived. It is how a batch, a scan,
/// and a fan-out query wait for their parts without blocking a thread.
final class Gather: Sendable {
    private struct State {
        var replies: [PartitionReply?]
        var remaining: Int
        var continuation: CheckedContinuation<[PartitionReply?], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(replies: Array(repeating: nil, count: count), remaining: count, continuation: nil))
    }

    func deliver(_ reply: PartitionReply, at index: Int) {
        let done: (CheckedContinuation<[PartitionReply?], Never>, [PartitionReply?])? = state.withLock { state in
            precondition(state.replies[index] == nil, "reply \(index) delivered twice")
            state.replies[index] = reply
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.replies)
        }
        if let (continuation, replies) = done { continuation.resume(returning: replies) }
    }

    /// Every reply, once all have arrived. For work whose every piece is always answered
    /// (each submitted piece gets a reply: a result, or a failure when it cannot run).
    func wait() async -> [PartitionReply] {
        await collect(timeout: nil).map { $0! }
    }

    /// The replies that arrived within `timeout`; a missing one is nil. A fan-out gives up
    /// on a slow part rather than hold the client forever.
    func wait(timeout: Duration) async -> [PartitionReply?] {
        await collect(timeout: timeout)
    }

    private func collect(timeout: Duration?) async -> [PartitionReply?] {
        let timer: Task<Void, Never>? = timeout.map { timeout in
            Task { [self] in
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { expire() }
            }
        }
        defer { timer?.cancel() }
        return await withCheckedContinuation { continuation in
            let ready: [PartitionReply?]? = state.withLock { state in
                if state.remaining == 0 { return state.replies }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Hands over what has arrived so far; later replies are ignored.
    private func expire() {
        let partial: (CheckedContinuation<[PartitionReply?], Never>, [PartitionReply?])? = state.withLock { state in
            guard let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.replies)
        }
        if let (continuation, replies) = partial { continuation.resume(returning: replies) }
    }
}
