import EddyLog
import EddyModel
import EddyStorage
import Foundation
import Logging
import Synchronization

/// The operator of one partition: it takes the partition's events one group at a time, in
/// order, on a thread of its own, and commits each group as one atomic, synced write batch.
///
/// Everything RocksDB does for the partition happens on this thread, never on an event loop
/// or the Swift concurrency pool. Request handlers only `submit` (a non-blocking enqueue) and
/// await the reply.
final class PartitionOperator: Sendable {
    let partition: Int
    private let inbox: Inbox<PartitionWork>
    private let health = Mutex<PartitionHealth>(.serving)
    private let finished = DispatchSemaphore(value: 0)
    /// Touched only by the operator thread (and by `init` before it starts). Nil when the
    /// partition failed its start-up checks.
    private nonisolated(unsafe) var core: OperatorCore?
    private let logger: Logger

    init(partition: Int, inboxCapacity: Int, groupEventsMax: Int, logger: Logger, open: () throws -> OperatorCore) {
        self.partition = partition
        self.inbox = Inbox(capacity: inboxCapacity)
        self.groupEventsMax = groupEventsMax
        self.logger = logger
        do {
            core = try open()
        } catch {
            logger.critical("partition refuses to serve", metadata: ["partition": "\(partition)", "reason": "\(error)"])
            core = nil
            health.withLock { $0 = .failed("\(error)") }
        }
    }

    private let groupEventsMax: Int

    var currentHealth: PartitionHealth { health.withLock { $0 } }
    var queueDepth: Int { inbox.depth }

    /// Queues `work`, or answers it at once with 503 `overloaded` (inbox full) or
    /// `shutting_down` (inbox closed). Never drops it silently.
    func submit(_ work: PartitionWork) {
        switch inbox.offer(work) {
        case .accepted:
            return
        case .full:
            work.reply(.failure(EddyError(.overloaded, "partition \(partition) has \(inbox.capacity) events queued; retry shortly")))
        case .closed:
            work.reply(.failure(EddyError(.shuttingDown, "the server is shutting down")))
        }
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "eddy-partition-\(partition)"
        thread.start()
    }

    /// Stops taking work, finishes what is queued, and returns when the thread has exited.
    func stop() {
        inbox.close()
        finished.wait()
    }

    private func run() {
        while true {
            let work = inbox.take(max: groupEventsMax)
            if work.isEmpty { return }
            if case .failed(let reason) = currentHealth {
                let error = EddyError(.partitionUnavailable, "partition \(partition) is not serving: \(reason)")
                work.forEach { $0.reply(.failure(error)) }
                continue
            }
            let replies: [(PartitionWork, PartitionReply)]
            do {
                replies = try core!.process(work)
            } catch {
                let reason = "\(error)"
                logger.critical("partition stopped", metadata: ["partition": "\(partition)", "reason": "\(reason)"])
                health.withLock { $0 = .failed(reason) }
                let failure = EddyError(.partitionUnavailable, "partition \(partition) stopped: \(reason)")
                work.forEach { $0.reply(.failure(failure)) }
                continue
            }
            core!.release(replies) { [self] error in
                logger.critical("partition stopped", metadata: ["partition": "\(partition)", "reason": "\(error)"])
                health.withLock { $0 = .failed("\(error)") }
            }
        }
    }
}

/// Whether a partition serves, and if not, why. Shown in `/health`.
public enum PartitionHealth: Sendable, Equatable {
    case serving
    case failed(String)
}
