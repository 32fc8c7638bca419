import EddyLog
import EddyModel
import EddyStorage
import Foundation
import Logging
import Synchronization

/// A thread that runs the operators of several partitions. Each partition's events are
/// handled one group at a time, in order, by that partition's `OperatorCore`; the worker
/// only decides whose turn it is.
///
/// Why a few workers rather than a thread per partition: on a 2-core machine, eight
/// operator threads spend more time switching than working, and each wakes for a group of
/// one or two events. A worker per core drains every partition it owns in one wake-up.
///
/// Everything RocksDB does happens on these threads, never on an event loop or the Swift
/// concurrency pool. Request handlers only `submit` (a non-blocking enqueue).
final class PartitionWorker: Sendable {
    let index: Int
    private let inbox: Inbox<PartitionWork>
    private let health: Mutex<[Int: PartitionHealth]>
    private let finished = DispatchSemaphore(value: 0)
    /// Touched only by the worker thread (and by `init`, before the thread starts).
    /// A nil core is a partition that failed its start-up checks.
    private nonisolated(unsafe) var cores: [Int: OperatorCore?]
    private let groupEventsMax: Int
    private let logger: Logger

    init(index: Int, partitions: [Int], inboxCapacity: Int, groupEventsMax: Int, logger: Logger, open: (Int) throws -> OperatorCore) {
        self.index = index
        self.inbox = Inbox(capacity: inboxCapacity)
        self.groupEventsMax = groupEventsMax
        self.logger = logger
        var cores: [Int: OperatorCore?] = [:]
        var health: [Int: PartitionHealth] = [:]
        for partition in partitions {
            do {
                cores[partition] = try open(partition)
                health[partition] = .serving
            } catch {
                logger.critical("partition refuses to serve", metadata: ["partition": "\(partition)", "reason": "\(error)"])
                cores[partition] = .some(nil)
                health[partition] = .failed("\(error)")
            }
        }
        self.cores = cores
        self.health = Mutex(health)
    }

    func health(of partition: Int) -> PartitionHealth {
        health.withLock { $0[partition] ?? .failed("partition \(partition) is not run by worker \(index)") }
    }

    var queueDepth: Int { inbox.depth }

    /// Queues `work`, or answers it at once with 503 `overloaded` (inbox full) or
    /// `shutting_down` (inbox closed). Never drops it silently.
    func submit(_ work: PartitionWork) {
        switch inbox.offer(work) {
        case .accepted:
            return
        case .full:
            work.reply(.failure(EddyError(.overloaded, "the worker of partition \(work.partition) has \(inbox.capacity) events queued; retry shortly")))
        case .closed:
            work.reply(.failure(EddyError(.shuttingDown, "the server is shutting down")))
        }
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "eddy-worker-\(index)"
        thread.start()
    }

    /// Stops taking work, finishes what is queued, and returns when the thread has exited.
    func stop() {
        inbox.close()
        finished.wait()
    }

    private func run() {
        while true {
            // Take what is queued for all owned partitions, then give each partition its
            // events as one group, in the order they arrived.
            let work = inbox.take(max: groupEventsMax * max(1, cores.count))
            if work.isEmpty { return }
            var groups: [Int: [PartitionWork]] = [:]
            var order: [Int] = []
            for item in work {
                if groups[item.partition] == nil { order.append(item.partition) }
                groups[item.partition, default: []].append(item)
            }
            for partition in order {
                runGroup(partition, groups[partition]!)
            }
        }
    }

    private func runGroup(_ partition: Int, _ work: [PartitionWork]) {
        if case .failed(let reason) = health(of: partition) {
            let error = EddyError(.partitionUnavailable, "partition \(partition) is not serving: \(reason)")
            work.forEach { $0.reply(.failure(error)) }
            return
        }
        guard var core = cores[partition] ?? nil else { return }
        let replies: [(PartitionWork, PartitionReply)]
        do {
            replies = try core.process(work)
            cores[partition] = core
        } catch {
            stopPartition(partition, error)
            let failure = EddyError(.partitionUnavailable, "partition \(partition) stopped: \(error)")
            work.forEach { $0.reply(.failure(failure)) }
            return
        }
        core.release(replies) { [self] error in
            stopPartition(partition, error)
        }
    }

    private func stopPartition(_ partition: Int, _ error: any Error) {
        logger.critical("partition stopped", metadata: ["partition": "\(partition)", "reason": "\(error)"])
        health.withLock { $0[partition] = .failed("\(error)") }
    }
}

/// Whether a partition serves, and if not, why. Shown in `/health`.
public enum PartitionHealth: Sendable, Equatable {
    case serving
    case failed(String)
}
