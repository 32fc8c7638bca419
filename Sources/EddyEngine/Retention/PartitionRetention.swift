import EddyLog
import EddyStorage
import Foundation

/// What retention removes from one partition's log, and what it keeps of it:
/// - log retention (`retainedRecordsPerPartition`): once a partition holds more than that many
///   records plus `truncationSlack`, the older ones are folded into the base snapshot
///   (`BaseSnapshot.fold`) and then removed with one range delete;
/// - read-record retention (`readRecordRetentionSeconds`): read records older than that are
///   pruned (`ReadPruner`).
///
/// Runs on the partition's worker thread, after commits (truncation) and on the worker's
/// maintenance ticks (pruning, which is due by time, not by appends).
struct PartitionRetention {
    let partition: Int
    /// Log records kept; 0 keeps every record.
    let recordsKept: UInt64
    private let database: Database
    private var pruner: ReadPruner?

    /// Records beyond `recordsKept` that accumulate before a truncation, so each truncation
    /// (one range delete and one fold) covers many records rather than one per commit.
    static let truncationSlack: UInt64 = 1024

    init(partition: Int, configuration: EngineConfiguration, database: Database) {
        self.partition = partition
        self.database = database
        recordsKept = configuration.retainedRecordsPerPartition
        pruner = configuration.readRecordRetentionSeconds > 0
            ? ReadPruner(partition: partition, retentionSeconds: configuration.readRecordRetentionSeconds, database: database)
            : nil
    }

    /// Folds and then removes records beyond the log retention, a bounded slice at a time.
    func truncate(_ log: any PartitionLog) throws {
        guard recordsKept > 0, log.nextOffset - log.firstOffset > recordsKept + Self.truncationSlack else { return }
        let lastRemoved = log.nextOffset - recordsKept - 1
        guard let base = try BaseSnapshot.fold(log: log, database: database, partition: partition, through: lastRemoved) else {
            // A log truncated before base snapshots existed cannot have one; it is truncated
            // as before, and the audit says why it cannot re-derive state.
            try log.truncate(before: lastRemoved + 1)
            return
        }
        // Only what is folded is removed: the base and the log left always meet.
        try log.truncate(before: min(lastRemoved, base.offset) + 1)
    }

    /// One bounded pruning step. Returns true if more is due at once.
    mutating func prune(_ log: any PartitionLog) throws -> Bool {
        guard pruner != nil else { return false }
        return try pruner!.step(log: log, nowMs: UInt64(Date().timeIntervalSince1970 * 1000))
    }
}
