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
    private let metrics: EngineMetrics
    private let logger: Logger
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
        applied = AppliedOffsets(partitions: configuration.partitions)
        metrics = EngineMetrics(workers: max(1, min(configuration.workers, configuration.partitions)))
        let (store, database, applied, metrics, epoch) = (store, database, applied, metrics, epoch)
        let workerCount = max(1, min(configuration.workers, configuration.partitions))
        workers = (0..<workerCount).map { index in
            let owned = Array(stride(from: index, to: configuration.partitions, by: workerCount))
            return PartitionWorker(
                index: index, partitions: owned, store: store, durability: configuration.durability,
                inboxCapacity: configuration.inboxEventsMax * owned.count, groupEventsMax: configuration.groupEventsMax, logger: logger
            ) { partition in
                try OperatorCore(partition: partition, store: store, database: database, configuration: configuration, epoch: epoch, applied: applied, metrics: metrics, logger: logger)
            }
        }
        let routed = workers
        courier = Courier { work in routed[work.partition % routed.count].submit(work) }
        workers.forEach { $0.start() }
        try redeliverOutbox()
        logger.info("engine started", metadata: ["partitions": "\(configuration.partitions)", "epoch": "\(epoch)", "data": "\(configuration.dataDirectory)"])
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
        courier.stop()
        workers.forEach { $0.stop() }
        store.close()
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

    /// Handles events in order: events for the same partition apply in batch order, and the
    /// whole batch is queued before any reply is awaited, so it usually shares group commits.
    public func handle(batch: [Event]) async -> [EventResult] {
        if batch.contains(where: \.op.spansPartitions) { return await handle(mixedBatch: batch) }
        let started = ContinuousClock.now
        var results = [EventResult?](repeating: nil, count: batch.count)
        var events = batch

        // Wait for every `after` position first (the batch's positions merged, so if the wait
        // times out, every event that carried `after` gets the error).
        let after = events.reduce(Position()) { $0.merged(with: $1.after ?? Position()) }
        if !after.isEmpty {
            do {
                try await applied.wait(until: after, timeout: .milliseconds(Int(configuration.afterTimeoutSeconds * 1000)))
            } catch {
                for (index, event) in events.enumerated() where event.after != nil {
                    results[index] = .failure(error, id: event.id)
                }
            }
        }

        // Plan each event's pieces of work: one partition, or every partition for a scan.
        var plan: [(event: Int, partition: Int)] = []
        for index in events.indices where results[index] == nil {
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

        let gather = Gather(count: plan.count)
        for (slot, piece) in plan.enumerated() {
            worker(of: piece.partition).submit(PartitionWork(partition: piece.partition, event: events[piece.event]) { gather.deliver($0, at: slot) })
        }
        let replies = await gather.wait()

        var parts: [Int: [(partition: Int, reply: PartitionReply)]] = [:]
        for (piece, reply) in zip(plan, replies) {
            parts[piece.event, default: []].append((piece.partition, reply))
        }
        for (index, eventParts) in parts {
            results[index] = assemble(events[index], eventParts)
        }
        let elapsed = ContinuousClock.now - started
        for event in events { metrics.recordRequest(op: event.op, duration: elapsed) }
        return results.map { $0! }
    }

    private func assemble(_ event: Event, _ parts: [(partition: Int, reply: PartitionReply)]) -> EventResult {
        if event.op != .scan {
            switch parts[0].reply {
            case .result(let result): return result
            case .failure(let error): return .failure(error, id: event.id)
            case .scanPart: preconditionFailure("scan part for a \(event.op) event")
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

    /// An ID for an event that spans partitions, so it cannot be "@partition-offset-epoch".
    static func newServerID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "\(Event.serverIDMarker)s-" + String(high, radix: 16) + String(low, radix: 16)
    }
}
