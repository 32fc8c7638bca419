import Synchronization

/// Collects the replies to a known number of pieces of work, sent from any partition
/// threads, and hands them over in order once all have arrived. It is how a batch, a scan,
/// and later any fan-out, waits for its parts without blocking a thread.
final class Gather: Sendable {
    private struct State {
        var replies: [PartitionReply?]
        var remaining: Int
        var continuation: CheckedContinuation<[PartitionReply], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(replies: Array(repeating: nil, count: count), remaining: count, continuation: nil))
    }

    func deliver(_ reply: PartitionReply, at index: Int) {
        let done: (CheckedContinuation<[PartitionReply], Never>, [PartitionReply])? = state.withLock { state in
            precondition(state.replies[index] == nil, "reply \(index) delivered twice")
            state.replies[index] = reply
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.replies.map { $0! })
        }
        if let (continuation, replies) = done { continuation.resume(returning: replies) }
    }

    func wait() async -> [PartitionReply] {
        await withCheckedContinuation { continuation in
            let ready: [PartitionReply]? = state.withLock { state in
                if state.remaining == 0 { return state.replies.map { $0! } }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
