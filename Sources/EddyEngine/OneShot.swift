import Synchronization

/// A value set once, from any thread, and awaited by one task with a deadline. The first
/// `fulfill` wins; later ones are ignored.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var continuation: CheckedContinuation<Value?, Never>?
    }

    private let state = Mutex(State())

    init() {}

    func fulfill(_ value: Value) {
        let waiting: CheckedContinuation<Value?, Never>? = state.withLock { state in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.continuation = nil }
            return state.continuation
        }
        waiting?.resume(returning: value)
    }

    /// The value, or nil if it was not set within `timeout`.
    func value(timeout: Duration) async -> Value? {
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { expire() }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                if let value = state.value { return value }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire() {
        let waiting: CheckedContinuation<Value?, Never>? = state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        waiting?.resume(returning: nil)
    }
}
