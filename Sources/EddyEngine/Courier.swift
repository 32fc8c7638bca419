import EddyModel
import Synchronization

/// Delivers the events procedure stages emit to the partitions they are for, and tells
/// waiting callers when a call's outcome is recorded.
///
/// An emitted event is in the outbox from the moment its stage commits until the target
/// partition commits it (see `OperatorCore`), and it is handed over here only once the
/// emitting batch is durable (replies are released after the sync). A delivery that fails
/// because the target is busy is retried with backoff; one still undelivered when the
/// server stops is delivered at the next start from the outbox. The target de-duplicates
/// by the derived ID, so delivering twice is harmless and delivering never is impossible.
final class Courier: Sendable {
    /// The outcome of a call, as recorded in its outcome table.
    struct CallOutcome: Sendable {
        var value: JSON
    }

    private let route: @Sendable (PartitionWork) -> Void
    private let waiters = Mutex<[String: [ObjectIdentifier: OneShot<CallOutcome>]]>([:])
    private let stopped = Atomic<Bool>(false)
    /// Longest wait between retries of one delivery.
    static let retryDelayMsMax = 1000

    init(route: @escaping @Sendable (PartitionWork) -> Void) {
        self.route = route
    }

    /// Stops retrying; what is undelivered stays in the outbox for the next start.
    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    /// Sends `emitted` to its partition. `then` gets the reply (used for a call's first stage,
    /// whose caller is waiting); later stages are followed here.
    func deliver(_ emitted: Emitted, attempt: Int = 0, then: (@Sendable (PartitionReply) -> Void)? = nil) {
        route(PartitionWork(partition: emitted.partition, event: emitted.event) { [self] reply in
            received(reply, for: emitted, attempt: attempt, then: then)
        })
    }

    private func received(_ reply: PartitionReply, for emitted: Emitted, attempt: Int, then: (@Sendable (PartitionReply) -> Void)?) {
        switch reply {
        case .result(let result):
            for next in result.emitted { deliver(next) }
            if emitted.event.op == .put, let id = emitted.event.id, id.hasSuffix(Event.derivedIDSeparator + "outcome"),
               let callID = Event.requestID(ofDerived: id), let value = emitted.event.value, result.error == nil {
                resolve(callID, CallOutcome(value: value))
            }
            then?(reply)
        case .scanPart, .subscribed:
            then?(reply)
        case .failure(let error):
            if let then {
                // The call's first stage: its caller hears of the failure and may retry.
                then(reply)
                return
            }
            guard !stopped.load(ordering: .acquiring), error.code != .shuttingDown else { return }
            let delayMs = min(Self.retryDelayMsMax, 10 << min(attempt, 7))
            Task { [self] in
                try? await Task.sleep(for: .milliseconds(delayMs))
                if !stopped.load(ordering: .acquiring) { deliver(emitted, attempt: attempt + 1) }
            }
        }
    }

    /// Registers interest in a call's outcome before the call is sent, so an outcome that
    /// is recorded quickly is not missed.
    func expectOutcome(of callID: String) -> OneShot<CallOutcome> {
        let waiter = OneShot<CallOutcome>()
        waiters.withLock { $0[callID, default: [:]][ObjectIdentifier(waiter)] = waiter }
        return waiter
    }

    func forget(_ waiter: OneShot<CallOutcome>, of callID: String) {
        waiters.withLock { all in
            all[callID]?[ObjectIdentifier(waiter)] = nil
            if all[callID]?.isEmpty == true { all[callID] = nil }
        }
    }

    private func resolve(_ callID: String, _ outcome: CallOutcome) {
        let waiting = waiters.withLock { $0.removeValue(forKey: callID) } ?? [:]
        for waiter in waiting.values { waiter.fulfill(outcome) }
    }
}
