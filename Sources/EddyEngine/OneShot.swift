import Synchronization

/// A value set once, from any thread, and waited for by one callback with a deadline. The
/// first `fulfill` wins; later ones are ignored.
final class OneShot<Value: Sendable>: Sendable {
    typealias Waiter = @Sendable (Value?) -> Void

    private struct State {
        var value: Value?
        var waiter: Waiter?
        /// The deadline passed: whoever waits now gets nil, even if the deadline thread fired
        /// before the waiter was registered.
        var expired = false
    }

    private let state = Mutex(State())

    init() {}

    func fulfill(_ value: Value) {
        let waiting: Waiter? = state.withLock { state in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiter = nil }
            return state.waiter
        }
        waiting?(value)
    }

    /// Calls `done` with the value: at once if it is set, otherwise on the thread that sets
    /// it, or with nil on the `deadlines` thread once `deadline` has passed.
    func whenFulfilled(by deadline: ContinuousClock.Instant, deadlines: Deadlines, _ done: @escaping Waiter) {
        let token = deadlines.watch(until: deadline) { [self] in expire() }
        // Nil while it waits; .some(nil) when it expired before the waiter was registered.
        let settled: Value?? = state.withLock { state in
            if let value = state.value { return .some(value) }
            if state.expired { return .some(nil) }
            state.waiter = { value in
                deadlines.unwatch(token)
                done(value)
            }
            return nil
        }
        if let settled {
            deadlines.unwatch(token)
            done(settled)
        }
    }

    private func expire() {
        let waiting: Waiter? = state.withLock { state in
            state.expired = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiting?(nil)
    }
}
