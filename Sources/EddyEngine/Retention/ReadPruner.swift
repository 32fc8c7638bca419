import EddyLog
import EddyStorage

/// Prunes read records once they are older than the read-record retention: each becomes a
/// stub that keeps its place in the hash chain but not what was read (`PartitionLog.prune`),
/// and its entry in the `reads` index of its client goes in the same batch.
///
/// Why a separate retention for reads: reads far outnumber writes, and what a customer saw is
/// often kept for a fixed time ("30 days"), while writes are kept as long as outcomes must be
/// answered. Only records staged prunable are pruned, and the operator stages exactly its
/// read records so (writes, rejections, calls and declarations never are); the mark is in
/// the chain hash, so a write can never be passed off as a pruned read.
///
/// It walks the log from a cursor kept in `meta`, a bounded number of records per step, and
/// stops at the first record younger than the retention: records are in time order.
struct ReadPruner {
    let partition: Int
    let retentionMs: UInt64
    private let database: Database
    private let meta: ColumnFamily
    private let clientReads: ColumnFamily
    /// The first offset not yet looked at; loaded from `meta` at the first step.
    private var cursor: UInt64? = nil
    /// Nothing is due before this time: the oldest record not yet looked at is younger than
    /// the retention until then. Saves a read of the log per step while nothing is due.
    private var idleUntilMs: UInt64 = 0

    /// Records looked at per step at most, so a step never holds up the worker for long.
    static let recordsPerStepMax = 1024

    init(partition: Int, retentionSeconds: Int, database: Database) {
        precondition(retentionSeconds > 0, "a pruner needs a retention")
        self.partition = partition
        self.retentionMs = UInt64(retentionSeconds) * 1000
        self.database = database
        meta = database.columnFamily(StoreLayout.meta)
        clientReads = database.columnFamily(StoreLayout.clientReads)
    }

    /// Prunes what is due among the next records, and writes the stubs, the index deletions
    /// and the new cursor in one batch (unsynced: a prune lost in a crash is done again).
    /// Returns true if more records may be due right away.
    mutating func step(log: any PartitionLog, nowMs: UInt64) throws -> Bool {
        guard nowMs >= idleUntilMs, nowMs > retentionMs else { return false }
        let cutoffMs = nowMs - retentionMs
        let cursorKey = StoreLayout.metaKey(partition: partition, .pruneCursor)
        let stored = try cursor ?? database.get(meta, key: cursorKey).flatMap(StoreLayout.decodeUInt64) ?? 1
        let from = max(stored, log.firstOffset)
        guard from < log.nextOffset else {
            // Whatever is appended next is stamped now or later.
            idleUntilMs = nowMs + retentionMs
            return false
        }
        let entries = try log.read(from: from, limit: Self.recordsPerStepMax)
        let batch = WriteBatch()
        var due: [Offset] = []
        var next = from
        var reachedYoung = false
        for entry in entries {
            if let bytes = entry.payload {
                guard let timestampMs = LogPayload.timestampMs(peekingInto: bytes) else {
                    throw LogError.corrupt(partition: partition, offset: entry.offset, reason: "record payload has no timestamp")
                }
                if timestampMs > cutoffMs {
                    idleUntilMs = timestampMs + retentionMs
                    reachedYoung = true
                    break
                }
                if entry.prunable {
                    try unindex(entry.offset, bytes, from: batch)
                    due.append(entry.offset)
                }
            }
            next = entry.offset + 1
        }
        guard next > from else { return false }
        _ = try log.prune(due, into: batch)
        batch.put(meta, key: cursorKey, value: StoreLayout.encode(next))
        try database.write(batch, sync: false)
        cursor = next
        return !reachedYoung && next < log.nextOffset
    }

    /// Deletes a read's entry in its client's `reads` index, checking on the way that the
    /// record staged prunable is a read (checked in pairs: the operator marked it so).
    private func unindex(_ offset: Offset, _ bytes: [UInt8], from batch: WriteBatch) throws {
        let payload: LogPayload
        do {
            payload = try LogPayload(decoding: bytes)
        } catch {
            throw LogError.corrupt(partition: partition, offset: offset, reason: "\(error)")
        }
        guard case .read = payload.outcome else {
            throw LogError.corrupt(partition: partition, offset: offset, reason: "record is marked prunable but is not a read")
        }
        if let client = payload.event.client {
            batch.delete(clientReads, key: StoreLayout.clientReadKey(client: client, timestampMs: payload.timestampMs, partition: partition, offset: offset))
        }
    }
}
