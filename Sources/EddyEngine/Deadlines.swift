import EddyThreads
import Foundation
import Synchronization

/// Expires waits that outlive their deadline, all of them from one thread.
///
/// A fan-out query waits for its parts with a deadline. A timer task per query (a task,
/// a dispatch timer, and a wake-up to cancel it) cost about 5% of the server's CPU under
/// `fraud_score` load; registering here is a dictionary insert and remove under a lock.
/// Deadlines are checked every `resolution`, so a wait expires up to that much late, which
/// is nothing next to timeouts counted in seconds.
///
/// What is watched at once is bounded by the requests in flight: each entry belongs to a
/// request waiting for replies from partition workers, whose inboxes are bounded.
final class Deadlines: Sendable {
    typealias Expire = @Sendable () -> Void

    private struct Watch {
        var deadline: ContinuousClock.Instant
        var expire: Expire
    }

    private struct State {
        var watched: [UInt64: Watch] = [:]
        var nextToken: UInt64 = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let resolution: Duration
    private let wake = NSCondition()
    private let finished = DispatchSemaphore(value: 0)

    init(resolution: Duration = .milliseconds(50)) {
        self.resolution = resolution
        NamedThread.start("eddy-deadlines") { [self] in
            run()
            finished.signal()
        }
    }

    /// Calls `expire` once `deadline` has passed, unless `unwatch` comes first. Returns the
    /// token for `unwatch`.
    func watch(until deadline: ContinuousClock.Instant, _ expire: @escaping Expire) -> UInt64 {
        state.withLock { state in
            state.nextToken += 1
            state.watched[state.nextToken] = Watch(deadline: deadline, expire: expire)
            return state.nextToken
        }
    }

    func unwatch(_ token: UInt64) {
        _ = state.withLock { $0.watched.removeValue(forKey: token) }
    }

    var count: Int { state.withLock { $0.watched.count } }

    /// Expires everything still watched, so no caller waits on a stopped engine, and stops
    /// the thread.
    func stop() {
        state.withLock { $0.stopped = true }
        wake.lock()
        wake.signal()
        wake.unlock()
        finished.wait()
    }

    private func run() {
        let (seconds, attoseconds) = resolution.components
        let interval = Double(seconds) + Double(attoseconds) / 1e18
        while true {
            wake.lock()
            _ = wake.wait(until: Date(timeIntervalSinceNow: interval))
            wake.unlock()
            let now = ContinuousClock.now
            let (due, stopped): ([Expire], Bool) = state.withLock { state in
                let expired = state.stopped ? state.watched : state.watched.filter { $0.value.deadline <= now }
                for token in expired.keys { state.watched[token] = nil }
                return (expired.values.map(\.expire), state.stopped)
            }
            for expire in due { expire() }
            if stopped { return }
        }
    }
}
