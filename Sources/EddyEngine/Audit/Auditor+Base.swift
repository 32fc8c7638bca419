import EddyLog
import EddyStorage

extension Auditor {
    /// Where re-deriving a partition's state starts.
    enum StartingPoint {
        /// Replay every record from offset 1 onto an empty state.
        case beginning
        /// Replay the records after `offset` onto the verified base snapshot, copied into the
        /// scratch state.
        case snapshot(offset: UInt64)
        /// State cannot be re-derived, for the reason given; the chain is still verified.
        case none(because: String)
    }

    /// Checks the partition's base snapshot, when it has one, and decides where re-deriving
    /// starts. A base is used only if its contents match its digest and its last record's
    /// hash is the one the log links to at that offset; anything else is a problem, and the
    /// base is not used. The base is checked even when the whole log is there (and so not
    /// needed), since the next truncation would rely on it.
    static func startingPoint(_ partition: Int, log: any PartitionLog, database: Database, into report: inout AuditReport.Partition) -> StartingPoint {
        let summary: BaseSnapshot.Summary?
        do {
            summary = try BaseSnapshot.summary(database, partition: partition)
            if let summary, try BaseSnapshot.scanDigest(database, partition: partition) != summary.digest {
                report.problems.append("the base snapshot (offset \(summary.offset)) does not match its digest: it was changed behind the log, or is damaged")
                return log.firstOffset == 1 ? .beginning : .none(because: "its base snapshot failed verification")
            }
        } catch {
            report.problems.append("the base snapshot cannot be read: \(error)")
            return log.firstOffset == 1 ? .beginning : .none(because: "its base snapshot cannot be read")
        }
        if log.firstOffset == 1 { return .beginning }
        guard let summary else {
            return .none(because: "retention removed records 1 to \(log.firstOffset - 1) before this data directory kept a base snapshot of them")
        }
        guard summary.offset + 1 >= log.firstOffset, summary.offset < log.nextOffset else {
            report.problems.append("the base snapshot is at offset \(summary.offset), which does not meet the log (offsets \(log.firstOffset) to \(log.nextOffset - 1))")
            return .none(because: "its base snapshot does not meet the log")
        }
        do {
            // The base is the state through `summary.offset`, so it must name that record's hash:
            // the anchor the first kept record links to, or a record still in the log (a crash
            // between a fold and the truncation after it).
            let hash = summary.offset + 1 == log.firstOffset
                ? try log.hashBeforeFirstOffset()
                : try log.read(from: summary.offset, limit: 1).first?.hash
            guard hash == summary.recordHash else {
                report.problems.append("the base snapshot names record \(summary.offset) with a hash the log does not have")
                return .none(because: "its base snapshot does not match the log")
            }
        } catch {
            report.problems.append("\(error)")
            return .none(because: "the log around its base snapshot cannot be read")
        }
        return .snapshot(offset: summary.offset)
    }

    /// Copies the base into the scratch state, and registers the declaration versions it
    /// holds (partition 0's `declare` records before the snapshot are gone from the log).
    static func seed(_ partition: Int, from database: Database, into scratch: Database, context: OperationContext) throws {
        try BaseSnapshot.copy(database, partition: partition, intoStateOf: scratch)
        guard partition == 0 else { return }
        for (version, source) in try RecordedDeclarations.versions(in: scratch) {
            try context.declarations.register(version, source: source)
        }
    }
}
