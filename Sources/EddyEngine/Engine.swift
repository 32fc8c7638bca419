public import EddyModel
public import Logging
import EddyLog
import EddyStorage
import Foundation
import Synchronization

/// The engine: opens the data directory, runs one operator per partition, and routes events
/// to them. Every request, read or write, goes through here as events.
public final class Engine: Sendable {
    public let configuration: EngineConfiguration
    /// Incremented and synced at every start; part of server-assigned IDs.
    public let epoch: UInt32
    let database: Database
    private let store: EmbeddedLogStore
    let partitioner: Partitioner
    private let workers: [PartitionWorker]
    let applied: AppliedOffsets
    /// Delivers events that procedure stages emit (Engine+Spanning.swift).
    let courier: Courier
    /// Every version of the declared queries and procedures (Engine+Declarations.swift).
    let declarations: DeclarationRegistry
    let metrics: EngineMetrics
    private let hub: SubscriptionHub
    private let feed: ChangeFeed
    private let blockingReads = BlockingReads(capacity: 64, name: "eddy-provenance")
    /// Timeouts of fan-out queries' parts and of calls' outcomes (Engine+Spanning.swift).
    let deadlines = Deadlines()
    private let logger: Logger
    /// Online audits (`Engine+Audit.swift`).
    let onlineAuditor: OnlineAuditor
    private let closed = Atomic<Bool>(false)

    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(configuration: EngineConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        partitioner = Partitioner(count: configuration.partitions)
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        do {
            database = try Database(path: configuration.dataDirectory, columnFamilies: StoreLayout.columnFamilies, options: configuration.storage)
        } catch {
            throw StartupError(description: "cannot open data directory \(configuration.dataDirectory): \(error.message)")
        }
        epoch = try Self.startEpoch(database, partitions: configuration.partitions)
        store = EmbeddedLogStore(database: database)
        applied = AppliedOffsets(partitions: configuration.partitions, timeout: .milliseconds(Int(configuration.afterTimeoutSeconds * 1000)))
        metrics = EngineMetrics(workers: max(1, min(configuration.workers, configuration.partitions)))
        hub = SubscriptionHub(partitions: configuration.partitions, store: store, subscriptionsMax: configuration.subscriptions.max)
        feed = ChangeFeed(hub: hub, changesMax: configuration.subscriptions.feedChangesMax,
                          pauseMicrosPerConnection: configuration.subscriptions.feedPauseMicrosPerConnection,
                          pauseMaxMillis: configuration.subscriptions.feedPauseMaxMillis)
        onlineAuditor = OnlineAuditor(
            database: database, dataDirectory: configuration.dataDirectory, limits: configuration.limits,
            declarations: configuration.declarations, parser: configuration.declarationParser, logger: logger
        )
        let (store, database, applied, metrics, epoch, feed) = (store, database, applied, metrics, epoch, feed)
        let workerCount = max(1, min(configuration.workers, configuration.partitions))
        let declarations = DeclarationRegistry(base: configuration.declarations, parser: configuration.declarationParser)
        self.declarations = declarations
        workers = (0..<workerCount).map { index in
            let owned = Array(stride(from: index, to: configuration.partitions, by: workerCount))
            return PartitionWorker(
                index: index, partitions: owned, store: store, feed: feed, durability: configuration.durability,
                inboxCapacity: configuration.inboxEventsMax * owned.count, groupEventsMax: configuration.groupEventsMax,
                maintenanceInterval: Self.maintenanceInterval(configuration), logger: logger
            ) { partition in
                try OperatorCore(partition: partition, store: store, database: database, configuration: configuration, epoch: epoch, declarations: declarations, applied: applied, metrics: metrics, logger: logger)
            }
        }
        // Everything a partition holds at start is on disk; subscribers may resume through it.
        for partition in 0..<configuration.partitions { hub.setPublished(partition, applied.applied(partition)) }
        hub.start(heartbeatSeconds: configuration.subscriptions.heartbeatSeconds)
        feed.start()
        let routed = workers
        courier = Courier { work in routed[work.partition % routed.count].submit(work) }
        do {
            try loadDeclarations()
            workers.forEach { $0.start() }
            try redeliverOutbox()
        } catch {
            // The threads started above would outlive a failed start and keep the database open.
            close()
            throw error
        }
        logger.info("engine started", metadata: ["partitions": "\(configuration.partitions)", "epoch": "\(epoch)", "data": "\(configuration.dataDirectory)"])
    }

    /// How often workers prune read records: every second, so a read record is gone about a
    /// second after its retention ends at the latest; never without a read-record retention.
    private static func maintenanceInterval(_ configuration: EngineConfiguration) -> TimeInterval? {
        guard configuration.readRecordRetentionSeconds > 0 else { return nil }
        return 1
    }

    /// Records this start and checks the partition count matches the data directory's.
    private static func startEpoch(_ database: Database, partitions: Int) throws -> UInt32 {
        let meta = database.columnFamily(StoreLayout.meta)
        let countKey = StoreLayout.metaKey(partition: 0xFFFF, .partitionCount)
        let epochKey = StoreLayout.metaKey(partition: 0xFFFF, .epoch)
        if let stored = try database.get(meta, key: countKey).flatMap(StoreLayout.decodeUInt64), stored != UInt64(partitions) {
            throw StartupError(description: "data directory \(database.path) was created with \(stored) partitions, but the configuration asks for \(partitions); repartitioning is not supported")
        }
        let epoch = (try database.get(meta, key: epochKey).flatMap(StoreLayout.decodeUInt64) ?? 0) + 1
        let batch = WriteBatch()
        batch.put(meta, key: countKey, value: StoreLayout.encode(UInt64(partitions)))
        batch.put(meta, key: epochKey, value: StoreLayout.encode(epoch))
        try database.write(batch, sync: true)
        return UInt32(truncatingIfNeeded: epoch)
    }

    /// Stops taking events, lets every operator finish its queue, then closes storage.
    /// Calling it again does nothing.
    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        onlineAuditor.close()  // first: an audit's checkpoint reads the live database
        courier.stop()
        workers.forEach { $0.stop() }
        store.close()  // its last sync releases the feed's last entries
        feed.stop()
        hub.stop()
        blockingReads.stop()
        deadlines.stop()
        // Memtables to SST files, so the next start has no WAL to replay and a stopped data
        // directory is all in checksummed files (what an offline audit or a copy sees).
        do {
            try database.flush()
        } catch {
            logger.warning("flush at shutdown failed; the next start replays the WAL", metadata: ["error": "\(error)"])
        }
        database.close()
        logger.info("engine stopped")
    }

    public var partitionHealth: [PartitionHealth] {
        (0..<configuration.partitions).map { worker(of: $0).health(of: $0) }
    }

    func worker(of partition: Int) -> PartitionWorker {
        workers[partition % workers.count]
    }

    public func appliedOffset(partition: Int) -> UInt64 { applied.applied(partition) }

    /// Events queued per worker thread.
    public func queueDepths() -> [Int] {
        workers.map { worker in
            let depth = worker.queueDepth
            metrics.recordInboxDepth(worker: worker.index, depth: depth)
            return depth
        }
    }

    /// Handles one event and returns its result.
    public func handle(_ event: Event) async -> EventResult {
        await handle(batch: [event])[0]
    }

    /// Handles events in order and returns their results.
    public func handle(batch: [Event]) async -> [EventResult] {
        await withCheckedContinuation { continuation in submit(batch) { continuation.resume(returning: $0) } }
    }

    /// Handles events in order and calls `completion` once with every result: events for the
    /// same partition apply in batch order, and the whole batch is queued before any reply
    /// is awaited, so it usually shares group commits.
    ///
    /// This is the request path. Plain events are queued on the caller's thread and
    /// `completion` runs on the thread that finishes the last piece (usually the WAL-sync
    /// thread), so a request costs no task and no hop through the concurrency pool. Events
    /// that must wait for an `after` position, declarations, and queries or calls that share
    /// their request with other events run in a task.
    public func submit(_ batch: [Event], completion: @escaping @Sendable ([EventResult]) -> Void) {
        if batch.count == 1, batch[0].op.spansPartitions, batch[0].op != .declare, batch[0].after == nil {
            // A lone query or call: its steps chain from partition to partition with no task.
            let (event, started) = (batch[0], ContinuousClock.now)
            spanning(event) { [self] result in
                metrics.recordRequest(op: event.op, duration: ContinuousClock.now - started)
                completion([result])
            }
            return
        }
        guard !batch.contains(where: { $0.op.spansPartitions || $0.after != nil }) else {
            Task { completion(await handle(waiting: batch)) }
            return
        }
        dispatch(batch, started: .now, completion: completion)
    }

    /// A batch whose events wait first: spanning ones for their parts, and the batch's
    /// `after` positions, merged (so if the wait times out, every event that carried `after`
    /// gets the error).
    private func handle(waiting batch: [Event]) async -> [EventResult] {
        if batch.contains(where: \.op.spansPartitions) { return await handle(mixedBatch: batch) }
        let started = ContinuousClock.now
        var failed: [Int: EventResult] = [:]
        let after = batch.reduce(Position()) { $0.merged(with: $1.after ?? Position()) }
        do {
            try await applied.wait(until: after)
        } catch {
            for (index, event) in batch.enumerated() where event.after != nil {
                failed[index] = .failure(error, id: event.id)
            }
        }
        return await withCheckedContinuation { continuation in
            dispatch(batch, failed: failed, started: started) { continuation.resume(returning: $0) }
        }
    }

    /// Plans each event's pieces of work (one partition, or every partition for a scan),
    /// queues them, and assembles the results once every piece is answered. Events in
    /// `failed` already have their result.
    private func dispatch(
        _ batch: [Event], failed: [Int: EventResult] = [:], started: ContinuousClock.Instant,
        completion: @escaping @Sendable ([EventResult]) -> Void
    ) {
        var results = [EventResult?](repeating: nil, count: batch.count)
        for (index, result) in failed { results[index] = result }
        var events = batch
        var plan: [(event: Int, partition: Int)] = []
        for index in events.indices where results[index] == nil {
            guard events[index].op != .subscribe else {
                results[index] = .failure(EddyError(.streamingOnly, "op 'subscribe' needs a streaming connection: GET /v1/subscribe (SSE) or the WebSocket at /v1/ws"), id: events[index].id)
                continue
            }
            guard configuration.tables.contains(events[index].table) else {
                results[index] = .failure(EddyError(.unknownTable, "table '\(events[index].table)' is not declared"), id: events[index].id)
                continue
            }
            if events[index].op == .scan {
                if events[index].id == nil { events[index].id = Self.newServerID() }
                plan += (0..<configuration.partitions).map { (index, $0) }
            } else {
                plan.append((index, partitioner.partition(table: events[index].table, key: events[index].key!)))
            }
        }

        if batch.count == 1, plan.count == 1 {
            // The usual request, one event for one partition: its reply is the result, with
            // no gathering (a Gather, its lock and the reassembly were about a seventh of the
            // WAL-sync thread's CPU per put, where durable replies are released).
            let (event, partition) = (events[0], plan[0].partition)
            worker(of: partition).submit(PartitionWork(partition: partition, event: event) { [self] reply in
                metrics.recordRequest(op: event.op, duration: ContinuousClock.now - started)
                completion([assemble(event, [(partition, reply)])])
            })
            return
        }
        let gather = Gather(count: plan.count)
        let (planned, presets) = (plan, results)
        let finalEvents = events
        gather.whenComplete { [self] replies in
            var results = presets
            var parts: [Int: [(partition: Int, reply: PartitionReply)]] = [:]
            for (piece, reply) in zip(planned, replies) {
                parts[piece.event, default: []].append((piece.partition, reply))
            }
            for (index, eventParts) in parts {
                results[index] = assemble(finalEvents[index], eventParts)
            }
            let elapsed = ContinuousClock.now - started
            for event in finalEvents { metrics.recordRequest(op: event.op, duration: elapsed) }
            completion(results.map { $0! })
        }
        for (slot, piece) in plan.enumerated() {
            worker(of: piece.partition).submit(PartitionWork(partition: piece.partition, event: events[piece.event]) { gather.deliver($0, at: slot) })
        }
    }

    private func assemble(_ event: Event, _ parts: [(partition: Int, reply: PartitionReply)]) -> EventResult {
        if event.op != .scan {
            switch parts[0].reply {
            case .result(let result): return result
            case .failure(let error): return .failure(error, id: event.id)
            case .scanPart, .subscribed: preconditionFailure("scan or subscribe part for a \(event.op) event")
            }
        }
        var items: [(key: String, value: [UInt8])] = []
        var more = false
        var position = Position()
        for (partition, reply) in parts {
            switch reply {
            case .scanPart(let part):
                items += part.items
                more = more || part.more
                position = position.merged(with: Position(partition: partition, offset: part.offset))
            case .failure(let error):
                return .failure(error, id: event.id)
            case .result(let result):
                return result
            case .subscribed:
                preconditionFailure("subscribe part for a scan")
            }
        }
        items.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let limit = event.limit ?? configuration.limits.scanLimitDefault
        if items.count > limit {
            items.removeLast(items.count - limit)
            more = true
        }
        return ResultRenderer.renderScan(id: event.id, items: items, more: more, position: position)
    }

    // MARK: Provenance

    /// What the event `id` did or saw (as it was then), the writes behind what it read, and
    /// the same for the events it names in `causedBy`, to `depth` levels.
    public func provenance(of id: String, depth: Int) async -> Result<JSON, EddyError> {
        let reader = provenanceReader()
        return await blockingReads.run { try reader.explain(id, depth: depth) }.mapError(Self.provenanceError)
    }

    /// The reads `client` made in `[fromMs, toMs)`, oldest first, at most `limit`.
    public func reads(ofClient client: String, fromMs: UInt64, toMs: UInt64, limit: Int) async -> Result<JSON, EddyError> {
        let reader = provenanceReader()
        return await blockingReads.run { try reader.reads(ofClient: client, fromMs: fromMs, toMs: toMs, limit: limit) }.mapError(Self.provenanceError)
    }

    private func provenanceReader() -> ProvenanceReader {
        ProvenanceReader(database: database, store: store, partitions: configuration.partitions, readRetentionSeconds: configuration.readRecordRetentionSeconds)
    }

    private static func provenanceError(_ error: any Error) -> EddyError {
        if let error = error as? EddyError { return error }
        // A record that fails its checks is never shown; the failure is.
        return EddyError(.partitionUnavailable, "provenance cannot be read: \(error)")
    }

    // MARK: Subscriptions

    /// Opens a subscription: its subscribe event goes through every partition that can hold a
    /// match, which attaches it at that point of the log with a snapshot (or, resuming
    /// `from` a cursor, with the log after it). Messages then arrive in `outbox`. Returns once
    /// every part is attached and durable, with the position the snapshot was taken at.
    public func subscribe(_ event: Event, outbox: SubscriptionOutbox) async -> Result<(Subscription, Position), EddyError> {
        precondition(event.op == .subscribe, "subscribe takes subscribe events")
        guard configuration.tables.contains(event.table) else {
            return .failure(EddyError(.unknownTable, "table '\(event.table)' is not declared"))
        }
        if let after = event.after {
            do {
                try await applied.wait(until: after)
            } catch {
                return .failure(error)
            }
        }
        var event = event
        if event.id == nil { event.id = Self.newServerID() }
        let partitions = event.key.map { [partitioner.partition(table: event.table, key: $0)] } ?? Array(0..<configuration.partitions)
        let id = event.id!
        let registered = hub.register { handle in
            Subscription(id: id, event: event, partitions: partitions, outbox: outbox, handle: handle)
        }
        guard let subscription = registered else {
            return .failure(EddyError(.tooManySubscriptions, "the server holds \(hub.subscriptionsMax) subscriptions, its maximum"))
        }
        let gather = Gather(count: partitions.count)
        for (slot, partition) in partitions.enumerated() {
            worker(of: partition).submit(PartitionWork(partition: partition, event: event, subscription: subscription) { gather.deliver($0, at: slot) })
        }
        var position = Position()
        for (partition, reply) in zip(partitions, await gather.wait()) {
            switch reply {
            case .subscribed(let offset):
                position = position.merged(with: Position(partition: partition, offset: offset))
            case .failure(let error):
                hub.remove(subscription)
                return .failure(error)
            case .result(let result):
                hub.remove(subscription)
                return .failure(result.error ?? EddyError(.internalError, "subscribe in partition \(partition) gave no attachment"))
            case .scanPart:
                preconditionFailure("scan part for a subscribe event")
            }
        }
        return .success((subscription, position))
    }

    /// Stops a subscription's messages. Its outbox stays open (a WebSocket's may serve others).
    public func unsubscribe(_ subscription: Subscription) {
        hub.remove(subscription)
    }

    /// Per-subscription lag and totals, for `/metrics`.
    public func subscriptionLags() -> [SubscriptionLag] {
        hub.lags()
    }

    public var subscriptionTotals: (open: Int, delivered: UInt64, stalls: UInt64) {
        let totals = hub.totals
        return (hub.count, totals.delivered, totals.stalls)
    }

    /// An ID for an event that spans partitions, so it cannot be "@partition-offset-epoch".
    static func newServerID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "\(Event.serverIDMarker)s-" + String(high, radix: 16) + String(low, radix: 16)
    }
}
