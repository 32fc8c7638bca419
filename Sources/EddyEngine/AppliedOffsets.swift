import EddyModel
import Synchronization

/// The applied offset of every partition, and the events waiting for one to advance.
///
/// This is how `after` works: an event carrying a position token waits here, bounded by a
/// timeout, until every partition the token names has applied that far.
final class AppliedOffsets: Sendable {
    private final class Slot: Sendable {
        struct State {
            var applied: UInt64 = 0
            var waiters: [UInt64: (target: UInt64, continuation: CheckedContinuation<Void, any Error>)] = [:]
            var nextWaiterID: UInt64 = 0
        }
        let state = Mutex(State())
    }

    private let slots: [Slot]
    /// How long an `after` wait may take (`afterTimeoutSeconds`).
    private let timeout: Duration

    init(partitions: Int, timeout: Duration) {
        slots = (0..<partitions).map { _ in Slot() }
        self.timeout = timeout
    }

    func applied(_ partition: Int) -> UInt64 {
        slots[partition].state.withLock { $0.applied }
    }

    /// Called by a partition's operator after each commit.
    func advance(_ partition: Int, to offset: UInt64) {
        let ready: [CheckedContinuation<Void, any Error>] = slots[partition].state.withLock { state in
            state.applied = max(state.applied, offset)
            let due = state.waiters.filter { $0.value.target <= state.applied }
            for id in due.keys { state.waiters[id] = nil }
            return due.values.map(\.continuation)
        }
        ready.forEach { $0.resume() }
    }

    /// Returns once `position` is applied everywhere it names, or throws `after_timeout`.
    func wait(until position: Position) async throws(EddyError) {
        // One deadline for the whole position, however many partitions it names.
        let deadline = ContinuousClock.now + timeout
        for (partition, target) in position.offsets {
            guard partition < slots.count else {
                throw EddyError(.invalidPosition, "position names partition \(partition); this server has \(slots.count)")
            }
            if applied(partition) >= target { continue }
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.waitOne(partition, target) }
                    group.addTask {
                        try await Task.sleep(until: deadline)
                        throw EddyError(.afterTimeout, "partition \(partition) did not reach offset \(target) within \(self.timeout)")
                    }
                    try await group.next()
                    group.cancelAll()
                }
            } catch let error as EddyError {
                throw error
            } catch {
                throw EddyError(.afterTimeout, "waiting for partition \(partition) was cancelled")
            }
        }
    }

    private func waitOne(_ partition: Int, _ target: UInt64) async throws {
        let slot = slots[partition]
        let waiterID = slot.state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = slot.state.withLock { state in
                    if state.applied >= target || Task.isCancelled { return true }
                    state.waiters[waiterID] = (target, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let cancelled = slot.state.withLock { $0.waiters.removeValue(forKey: waiterID) }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }
}
