import EddyModel
import EddyStorage

extension Auditor {
    /// Checks the outbox: every entry must decode, name a partition that exists, and not yet
    /// be applied by its target (its stage's record leaves the outbox in the batch that
    /// applies it, so an applied entry still there means a write went missing). Entries still
    /// pending are counted: they are delivered at the next start.
    static func checkOutbox(_ database: Database, partitions: Int, into reports: inout [AuditReport.Partition]) throws {
        let outbox = database.columnFamily(StoreLayout.outbox)
        let requestIDs = database.columnFamily(StoreLayout.requestIDs)
        var entries: [(key: String, value: [UInt8])] = []
        try database.scan(outbox, from: [UInt8](), to: nil) { key, value in
            entries.append((String(decoding: key, as: UTF8.self), Array(value)))
            return true
        }
        for (key, value) in entries {
            guard let emitted = try? StoreLayout.decodeOutboxEntry(value), emitted.partition < partitions, emitted.event.id == key else {
                reports[0].problems.append("outbox entry '\(key)' does not decode or names no partition")
                continue
            }
            if try database.get(requestIDs, key: StoreLayout.requestIDKey(key, partition: emitted.partition)) != nil {
                reports[emitted.partition].problems.append("outbox entry '\(key)' was applied by partition \(emitted.partition) but is still in the outbox")
            } else {
                reports[emitted.partition].pendingEmitted += 1
            }
        }
    }
}
