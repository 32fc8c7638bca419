import EddyLog
import EddyModel
import EddyStorage

/// Start-up: make a partition's state agree with its log before it serves.
///
/// State writes never get ahead of the log (the `PartitionLog` contract), so the state's
/// applied offset is at or behind the log's end. With the embedded log they are always equal,
/// because both go in one batch. A log that commits separately (a distributed log) leaves a
/// gap after a crash; replaying the recorded changes of the gap closes it.
enum Recovery {
    struct Inconsistent: Error, CustomStringConvertible {
        var description: String
    }

    /// Replays records after the applied offset into state. Returns how many were replayed.
    static func bringStateUpToLog(partition: Int, log: any PartitionLog, database: Database) throws -> Int {
        let meta = database.columnFamily(StoreLayout.meta)
        let requestIDs = database.columnFamily(StoreLayout.requestIDs)
        let appliedKey = StoreLayout.metaKey(partition: partition, .appliedOffset)
        let applied = try database.get(meta, key: appliedKey).flatMap(StoreLayout.decodeUInt64) ?? 0
        let logEnd = log.nextOffset - 1
        guard applied <= logEnd else {
            throw Inconsistent(description: "state says offset \(applied) is applied, but the log ends at \(logEnd): records are missing")
        }
        var replayed = 0
        var next = applied + 1
        var view = StateView(database: database, partition: partition)
        while next <= logEnd {
            let entries = try log.read(from: next, limit: 256)
            let batch = WriteBatch()
            view.reset()
            for entry in entries {
                next = entry.offset + 1
                replayed += 1
                // A pruned read changed no state. (Only records long committed are pruned, so
                // one in the gap would be odd, but it would still need nothing replayed.)
                guard let bytes = entry.payload else { continue }
                let payload = try LogPayload(decoding: bytes)
                view.currentOffset = entry.offset
                if case .applied(let changes) = payload.outcome {
                    view.apply(changes, into: batch)
                }
                if let id = StoreLayout.indexedID(of: payload.event) {
                    batch.put(requestIDs, key: StoreLayout.requestIDKey(id, partition: partition),
                              value: StoreLayout.requestIDEntry(offset: entry.offset, fingerprint: RequestFingerprint.of(payload.event)))
                }
            }
            batch.put(meta, key: appliedKey, value: StoreLayout.encode(next - 1))
            try database.write(batch, sync: true)
        }
        return replayed
    }
}
