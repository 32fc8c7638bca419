import EddyLog
import EddyModel
import EddyStorage
import Foundation
import Logging

/// The single-threaded heart of a partition operator: handles a group of events against the
/// partition's state and commits the group with one write batch. Not Sendable: one thread owns it.
struct OperatorCore {
    let partition: Int
    let logger: Logger
    private let database: Database
    private let log: any PartitionLog
    private var state: StateView
    private let requestIDs: ColumnFamily
    private let clientReads: ColumnFamily
    private let meta: ColumnFamily
    private let outbox: ColumnFamily
    private let configuration: EngineConfiguration
    private let context: OperationContext
    private let epoch: UInt32
    private let applied: AppliedOffsets
    private let metrics: EngineMetrics
    private var retention: PartitionRetention
    /// Opens the partition's log and brings its state up to the log. Throws when a check fails;
    /// the partition then refuses to serve rather than guess.
    init(partition: Int, store: any LogStore, database: Database, configuration: EngineConfiguration, epoch: UInt32,
         declarations: DeclarationRegistry, applied: AppliedOffsets, metrics: EngineMetrics, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "partition"] = "\(partition)"
        self.partition = partition
        self.logger = logger
        self.database = database
        self.configuration = configuration
        self.epoch = epoch
        self.applied = applied
        self.metrics = metrics
        self.state = StateView(database: database, partition: partition)
        self.requestIDs = database.columnFamily(StoreLayout.requestIDs)
        self.clientReads = database.columnFamily(StoreLayout.clientReads)
        self.meta = database.columnFamily(StoreLayout.meta)
        self.outbox = database.columnFamily(StoreLayout.outbox)
        self.retention = PartitionRetention(partition: partition, configuration: configuration, database: database)
        self.context = OperationContext(limits: configuration.limits, declarations: declarations, partitioner: Partitioner(count: configuration.partitions))
        let log = try store.openLog(partition: partition)
        let replayed = try Recovery.bringStateUpToLog(partition: partition, log: log, database: database)
        if replayed > 0 { logger.notice("replayed log into state", metadata: ["records": "\(replayed)"]) }
        applied.advance(partition, to: log.nextOffset - 1)
        self.log = log
    }

    /// What handling one group produced, for the worker to commit and then release.
    struct Group {
        let partition: Int
        var replies: [AnsweredWork]
        /// The last offset staged, if any record was.
        var lastOffset: UInt64?
        /// Whether the group holds writes that must be durable before any reply goes out.
        var needsSync: Bool
        /// Its changes and subscriptions, for the subscription hub.
        var feed: [FeedItem]
    }

    /// Handles `work` in order and stages its records and state writes into `batch`, which
    /// the worker commits together with other partitions' groups. Replies go out only once
    /// that commit is durable (see `PartitionWorker`).
    mutating func process(_ work: [PartitionWork], into batch: WriteBatch) throws -> Group {
        let started = ContinuousClock.now
        let base = log.nextOffset
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        var payloads: [StagedRecord] = []
        var replies: [AnsweredWork] = []
        replies.reserveCapacity(work.count)
        var needsSync = false
        var feed: [FeedItem] = []
        var recentIDs: [String: SeenID] = [:]
        state.reset()

        for item in work {
            let event = item.event
            let offset = base + UInt64(payloads.count)
            var fingerprint: UInt64 = 0

            // Server-assigned IDs ("@…") are unique by construction, so only client IDs and
            // IDs derived from a request are looked up and indexed. A subscription's ID names
            // it; it is not an idempotency key.
            let clientID = event.op == .subscribe ? nil : StoreLayout.indexedID(of: event)
            if let id = clientID {
                fingerprint = RequestFingerprint.of(event)
                if let earlier = recentIDs[id] {
                    replies.append(AnsweredWork(work: item, reply: replay(event, fingerprint: fingerprint, offset: earlier.offset, storedFingerprint: earlier.fingerprint, payload: earlier.payload)))
                    clearOutbox(event, batch)
                    continue
                }
                if let reply = try lookUpRequestID(event, fingerprint: fingerprint) {
                    replies.append(AnsweredWork(work: item, reply: reply))
                    clearOutbox(event, batch)
                    continue
                }
            }

            if event.op == .subscribe, let refusal = checkCursor(event.from, offset: offset) {
                replies.append(AnsweredWork(work: item, reply: .failure(refusal)))
                continue
            }

            state.currentOffset = offset
            let handled = try Operations.handle(event, state: state, context: context)

            guard event.op.isWrite || configuration.logsReads else {
                // Unlogged read: it saw everything up to the last offset assigned so far.
                replies.append(AnsweredWork(work: item, reply: reply(for: event, id: event.id, handled: handled, offset: offset - 1)))
                continue
            }

            let payload = LogPayload(epoch: epoch, timestampMs: now, event: event, outcome: handled.outcome)
            // Only read records may be pruned later (read-record retention); the mark is in
            // the chain, so no write can ever be passed off as a pruned read.
            let isRead = if case .read = handled.outcome { true } else { false }
            payloads.append(StagedRecord(payload.encoded(), prunable: isRead))
            if case .applied(let changes) = handled.outcome {
                state.apply(changes, into: batch)
                feed.append(.write(offset: offset, op: event.op, event: event.id ?? serverID(offset), changes: changes))
            }
            if let id = clientID {
                batch.put(requestIDs, key: StoreLayout.requestIDKey(id, partition: partition),
                          value: StoreLayout.requestIDEntry(offset: offset, fingerprint: fingerprint))
                recentIDs[id] = SeenID(offset: offset, fingerprint: fingerprint, payload: payload)
            } else if let id = event.id, !event.op.isWrite {
                // Not for dedupe: so provenance can find a multi-partition read ("@s-…") or a
                // subscription by its ID. (Other reads get "@P-O-E" IDs, which name their record.)
                batch.put(requestIDs, key: StoreLayout.requestIDKey(id, partition: partition),
                          value: StoreLayout.requestIDEntry(offset: offset, fingerprint: 0))
            }
            if !event.op.isWrite, let client = event.client {
                batch.put(clientReads, key: StoreLayout.clientReadKey(client: client, timestampMs: now, partition: partition, offset: offset), value: [])
            }
            // A delivered event leaves the outbox, and the events it emits enter it, in the
            // same batch as its record: none is lost and none is delivered once too often.
            clearOutbox(event, batch)
            for emitted in handled.emits {
                batch.put(outbox, key: Array(emitted.event.id!.utf8), value: StoreLayout.outboxEntry(emitted))
            }
            if (event.op.isWrite || event.op == .subscribe) && configuration.durability == .sync { needsSync = true }
            if event.op == .subscribe, let subscription = item.subscription, case .read = handled.outcome {
                // Synced like a write, so every cursor a subscriber is given names durable offsets.
                if case .items(let items, _)? = handled.answer {
                    feed.append(.attach(offset: offset, subscription: subscription, snapshot: event.from == nil ? items : nil))
                }
                replies.append(AnsweredWork(work: item, reply: .subscribed(offset: offset)))
                continue
            }
            replies.append(AnsweredWork(work: item, reply: reply(for: event, id: event.id ?? serverID(offset), handled: handled, offset: offset)))
        }

        var lastOffset: UInt64? = nil
        if !payloads.isEmpty {
            let last = base + UInt64(payloads.count) - 1
            batch.put(meta, key: StoreLayout.metaKey(partition: partition, .appliedOffset), value: StoreLayout.encode(last))
            // Reads alone are not synced: the next synced write, in any partition, makes them
            // durable too, since every column family shares one WAL. So a decision that names a
            // read is never acknowledged before the read's record is on disk.
            _ = log.stage(payloads, into: batch)
            lastOffset = last
        }
        metrics.recordGroup(partition: partition, events: work.count, logged: payloads.count, synced: needsSync, duration: ContinuousClock.now - started)
        return Group(partition: partition, replies: replies, lastOffset: lastOffset, needsSync: needsSync, feed: feed)
    }

    /// A request ID handled earlier in the same group, for a retry that arrives in it.
    private struct SeenID {
        var offset: UInt64
        var fingerprint: UInt64
        var payload: LogPayload
    }

    /// Called once the worker's batch holding this group is written: later events may now
    /// wait on the new offset, and retention may drop old records.
    mutating func didCommit(_ group: Group) throws {
        if let last = group.lastOffset { applied.advance(partition, to: last) }
        try retention.truncate(log)
    }

    /// Prunes read records past their retention, a bounded step; the worker calls it on its
    /// maintenance ticks. Returns true if more are due at once.
    mutating func pruneReads() throws -> Bool {
        try retention.prune(log)
    }

    /// "@partition-offset-epoch": unique, and resolvable to the log record without an index.
    private func serverID(_ offset: UInt64) -> String {
        Self.serverID(partition: partition, offset: offset, epoch: epoch)
    }

    static func serverID(partition: Int, offset: UInt64, epoch: UInt32) -> String {
        "\(Event.serverIDMarker)\(partition)-\(offset)-\(epoch)"
    }

    /// Why a subscription cannot resume from `from` here, if it cannot: its changes are past
    /// retention, or the cursor is from beyond this log (another data directory).
    private func checkCursor(_ from: Position?, offset: UInt64) -> EddyError? {
        guard let from else { return nil }
        let cursor = from.offsets[partition] ?? 0
        if cursor + 1 < log.firstOffset {
            return EddyError(.cursorExpired, "the change log of partition \(partition) starts at offset \(log.firstOffset); changes after cursor offset \(cursor) are past retention. Subscribe again without 'from' for a new snapshot")
        }
        if cursor >= offset {
            return EddyError(.invalidPosition, "cursor offset \(cursor) of partition \(partition) is beyond its log (\(offset - 1)); was it issued by another data directory?")
        }
        return nil
    }

    private func reply(for event: Event, id: String?, handled: Handled, offset: UInt64) -> PartitionReply {
        let position = Position(partition: partition, offset: offset)
        if event.op == .scan, case .items(let items, let more)? = handled.answer {
            return .scanPart(ScanPart(items: items, more: more, offset: offset))
        }
        var result = ResultRenderer.render(id: id, event: event, outcome: handled.outcome, answer: handled.answer, position: position)
        result.outcome = handled.outcome
        result.emitted = handled.emits
        if event.op == .get { result.document = handled.answer?.canonicalBytes }
        return .result(result)
    }

    /// Removes a delivered derived event from the outbox (a no-op for any other event).
    private func clearOutbox(_ event: Event, _ batch: WriteBatch) {
        guard event.op.isWrite, let id = event.id, Event.requestID(ofDerived: id) != nil else { return }
        batch.delete(outbox, key: Array(id.utf8))
    }

    /// The stored outcome of an ID this partition has seen, or nil if it is new.
    private func lookUpRequestID(_ event: Event, fingerprint: UInt64) throws -> PartitionReply? {
        guard let id = event.id, let entry = try database.get(requestIDs, key: StoreLayout.requestIDKey(id, partition: partition)) else {
            return nil
        }
        let (offset, storedFingerprint) = try StoreLayout.decodeRequestIDEntry(entry)
        guard offset >= log.firstOffset else {
            return .failure(EddyError(.outcomeExpired, "request '\(id)' was applied at offset \(offset) of partition \(partition), but its outcome is past retention; it was not applied again"))
        }
        guard let record = try log.read(from: offset, limit: 1).first else {
            throw LogError.corrupt(partition: partition, offset: offset, reason: "request ID '\(id)' points at a record that does not exist")
        }
        guard let bytes = record.payload else {
            guard fingerprint == storedFingerprint else {
                return .failure(EddyError(.idReused, "request ID '\(id)' was already used for a different event"))
            }
            return .failure(EddyError(.outcomeExpired, "request '\(id)' was a read at offset \(offset) of partition \(partition), whose record is past the read-record retention (\(configuration.readRecordRetentionSeconds) s); it was not run again"))
        }
        let payload = try LogPayload(decoding: bytes)
        return replay(event, fingerprint: fingerprint, offset: offset, storedFingerprint: storedFingerprint, payload: payload)
    }

    /// The first result of an ID, rebuilt from its record, for a retry.
    private func replay(_ event: Event, fingerprint: UInt64, offset: UInt64, storedFingerprint: UInt64, payload: LogPayload) -> PartitionReply {
        let id = event.id!
        guard fingerprint == storedFingerprint else {
            return .failure(EddyError(.idReused, "request ID '\(id)' was already used for a different event"))
        }
        metrics.recordReplay()
        if event.op == .scan, case .read(let record) = payload.outcome, let answer = record.answer, let part = Answer(storedScanPart: answer) {
            if case .items(let items, let more) = part {
                return .scanPart(ScanPart(items: items, more: more, offset: offset))
            }
        }
        var result = ResultRenderer.render(id: id, event: payload.event, outcome: payload.outcome, answer: nil, position: Position(partition: partition, offset: offset))
        result.replayed = true
        result.outcome = payload.outcome
        if event.op == .get, case .read(let record) = payload.outcome { result.document = record.answer }
        return .result(result)
    }
}

extension Answer {
    /// Parses a scan part's stored canonical answer (`{"items":[…],"more":…}`).
    init?(storedScanPart bytes: [UInt8]) {
        guard let json = try? JSON(parsing: bytes, maxDepth: Limits.storedJSONDepthMax), case .array(let list)? = json["items"], case .bool(let more)? = json["more"] else {
            return nil
        }
        var items: [(key: String, value: [UInt8])] = []
        for item in list {
            guard let key = item["key"]?.stringValue, let value = item["value"] else { return nil }
            items.append((key, value.serialized()))
        }
        self = .items(items, more: more)
    }
}
