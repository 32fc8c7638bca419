import EddyLog
import EddyModel
import EddyStorage
import EddyThreads
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
    private let started = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Touched only by the worker thread (and by `init`, before the thread starts).
    /// A nil core is a partition that failed its start-up checks.
    private nonisolated(unsafe) var cores: [Int: OperatorCore?]
    private let groupEventsMax: Int
    private let logger: Logger
    private let store: any LogStore
    private let durability: EngineConfiguration.Durability
    private let feed: ChangeFeed
    /// Reused for every commit of this worker: cleared, never reallocated.
    private nonisolated(unsafe) let batch = WriteBatch()
    /// Rounds committed but not yet durable. When this many wait for the disk, the worker
    /// stops taking work, its queue fills, and clients get `overloaded`: backpressure
    /// instead of an unbounded pile of replies waiting for fsync.
    static let roundsAwaitingDurabilityMax = 64
    private let durabilitySlots = DispatchSemaphore(value: PartitionWorker.roundsAwaitingDurabilityMax)
    /// How often the worker runs its partitions' maintenance (read-record pruning), busy or
    /// idle; nil when there is none to run.
    private let maintenanceInterval: TimeInterval?

    init(index: Int, partitions: [Int], store: any LogStore, feed: ChangeFeed, durability: EngineConfiguration.Durability,
         inboxCapacity: Int, groupEventsMax: Int, maintenanceInterval: TimeInterval?, logger: Logger, open: (Int) throws -> OperatorCore) {
        self.index = index
        self.maintenanceInterval = maintenanceInterval
        self.feed = feed
        self.store = store
        self.durability = durability
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
        started.store(true, ordering: .releasing)
        NamedThread.start("eddy-worker-\(index)") { [self] in
            Database.disablePerfCountersOnThisThread()
            run()
            finished.signal()
        }
    }

    /// Stops taking work, finishes what is queued, and returns when the thread has exited.
    func stop() {
        inbox.close()
        // A worker never started (the engine failed to start) has no thread to wait for.
        if started.load(ordering: .acquiring) { finished.wait() }
    }

    private func run() {
        var nextMaintenance = maintenanceInterval.map { Date(timeIntervalSinceNow: $0) }
        while true {
            // Take what is queued for all owned partitions, give each partition its events
            // as one group in arrival order, and commit all the groups as one atomic write.
            // Maintenance is due by time, so it runs between rounds, whether work comes or not.
            guard let work = inbox.take(max: groupEventsMax * max(1, cores.count), until: nextMaintenance) else { return }
            if let maintenanceInterval, let due = nextMaintenance, Date() >= due {
                // With more due at once, the next step comes right after the next round.
                nextMaintenance = maintain() ? Date() : Date(timeIntervalSinceNow: maintenanceInterval)
            }
            if work.isEmpty { continue }
            var groups: [Int: [PartitionWork]] = [:]
            var order: [Int] = []
            for item in work {
                if groups[item.partition] == nil { order.append(item.partition) }
                groups[item.partition, default: []].append(item)
            }
            var handled: [OperatorCore.Group] = []
            for partition in order {
                if let group = handle(partition, groups[partition]!) { handled.append(group) }
            }
            commit(handled)
        }
    }

    /// One bounded maintenance step of every partition that serves. Returns true if any has
    /// more due at once. A failure stops that partition, as a failed group would.
    private func maintain() -> Bool {
        var moreDue = false
        for partition in cores.keys.sorted() {
            guard case .serving = health(of: partition), var core = cores[partition] ?? nil else { continue }
            do {
                moreDue = try core.pruneReads() || moreDue
                cores[partition] = core
            } catch {
                stopPartition(partition, error)
            }
        }
        return moreDue
    }

    /// Runs one partition's group through its operator, staging into the shared batch.
    /// Returns nil when the partition is down (its events are answered here).
    private func handle(_ partition: Int, _ work: [PartitionWork]) -> OperatorCore.Group? {
        if case .failed(let reason) = health(of: partition) {
            let error = EddyError(.partitionUnavailable, "partition \(partition) is not serving: \(reason)")
            work.forEach { $0.reply(.failure(error)) }
            return nil
        }
        guard cores[partition] ?? nil != nil else { return nil }
        batch.setSavePoint()
        do {
            // Mutated where it is stored: copying the operator out and back retained and
            // released each of its references once per group. A group that throws stops its
            // partition, so what it changed in the operator is never used.
            let group = try cores[partition]!!.process(work, into: batch)
            try batch.popSavePoint()
            return group
        } catch {
            // Undo whatever the group staged before it failed, so the other partitions'
            // groups still commit and this one leaves no half-applied state behind.
            do {
                try batch.rollbackToSavePoint()
            } catch {
                preconditionFailure("a save point set above could not be rolled back: \(error)")
            }
            stopPartition(partition, error)
            let failure = EddyError(.partitionUnavailable, "partition \(partition) stopped: \(error)")
            work.forEach { $0.reply(.failure(failure)) }
            return nil
        }
    }

    /// Writes the iteration's batch once, then sends every reply when it is durable.
    private func commit(_ handled: [OperatorCore.Group]) {
        defer { batch.clear() }
        let needsSync = handled.contains { $0.needsSync }
        let ticket: DurabilityTicket
        do {
            ticket = try store.commit(batch, durable: needsSync)
        } catch {
            let failure = EddyError(.partitionUnavailable, "write failed: \(error)")
            for group in handled {
                stopPartition(group.partition, error)
                group.replies.forEach { $0.work.reply(.failure(failure)) }
            }
            return
        }
        for group in handled {
            do {
                try cores[group.partition]??.didCommit(group)
            } catch {
                // The round is committed, so its replies still go out; retention failing is a
                // storage fault, which stops the partition for later events.
                stopPartition(group.partition, error)
            }
        }
        let replies = handled.flatMap(\.replies)
        // Subscribers get a round once it is durable: only synced rounds carry changes and
        // attachments (reads alone are not synced and give subscribers nothing).
        let feeding = (needsSync || durability == .async) && feed.isWanted
        if feeding {
            for group in handled {
                guard let last = group.lastOffset else { continue }
                feed.append(FeedEntry(partition: group.partition, lastOffset: last, items: group.feed, ticket: durability == .sync ? ticket : nil))
            }
        }
        guard durability == .sync else {
            replies.forEach { $0.send() }
            return
        }
        let partitions = handled.map(\.partition)
        durabilitySlots.wait()
        store.whenDurable(ticket) { [self] result in
            defer { durabilitySlots.signal() }
            switch result {
            case .success:
                if feeding { feed.markDurable(ticket) }
                replies.forEach { $0.send() }
            case .failure(let error):
                let failure = EddyError(.partitionUnavailable, "writes could not be made durable: \(error)")
                partitions.forEach { stopPartition($0, error) }
                replies.forEach { $0.work.reply(.failure(failure)) }
            }
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
