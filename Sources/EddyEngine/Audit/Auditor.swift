import Crypto
import EddyLog
import EddyModel
import EddyStorage
import Foundation

/// Offline audit of a data directory: verifies every partition's hash chain, re-derives its
/// state by replaying the log through the same operations the server runs (into a scratch
/// store, from the beginning or, once retention removed it, from the verified base snapshot),
/// checks each recorded outcome against the re-derived one, and compares the re-derived state
/// with the live state, naming the first key that differs.
///
/// It opens the data directory exclusively (RocksDB's lock), so the server must be stopped.
public enum Auditor {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - limits: the limits the server ran with; operations that reject oversized results
    ///     must decide the same way on replay.
    ///   - scratchDirectory: an empty directory for the re-derived state; removed afterwards.
    ///   - declarations: the queries and procedures the server ran, which calls re-run through.
    ///   - parser: reads the declarations `declare` records added at run time.
    ///   - isCancelled: asked between slices of the log; when it says yes the audit throws,
    ///     so a stopping server need not wait for a long audit of its checkpoint.
    public static func audit(
        dataDirectory: String, limits: Limits = Limits(), declarations: Declarations = Declarations(),
        parser: DeclarationRegistry.Parser? = nil, scratchDirectory: String, isCancelled: () -> Bool = { false }
    ) throws -> AuditReport {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/CURRENT") else {
            throw Failure(description: "no Eddy data directory at \(dataDirectory)")
        }
        let started = ContinuousClock.now
        try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        let database: Database
        do {
            database = try Database(path: dataDirectory, columnFamilies: StoreLayout.columnFamilies)
        } catch {
            let hint = error.message.contains("lock") ? " (is a server running on it? stop it first)" : ""
            throw Failure(description: "cannot open \(dataDirectory): \(error.message)\(hint)")
        }
        defer { database.close() }
        let meta = database.columnFamily(StoreLayout.meta)
        guard let count = try database.get(meta, key: StoreLayout.metaKey(partition: 0xFFFF, .partitionCount)).flatMap(StoreLayout.decodeUInt64) else {
            throw Failure(description: "\(dataDirectory) has no partition count: not an Eddy data directory, or damaged")
        }
        let store = EmbeddedLogStore(database: database)
        defer { store.close() }
        var partitions: [AuditReport.Partition] = []
        // Partition 0 goes first and registers each declared version as it meets its
        // record, before any query or call (in any partition) that ran with it.
        let registry = DeclarationRegistry(base: declarations, parser: parser)
        for partition in 0..<Int(count) {
            if isCancelled() { throw Failure(description: "audit cancelled before partition \(partition)") }
            let scratchPath = scratchDirectory + "/partition-\(partition)"
            defer { try? FileManager.default.removeItem(atPath: scratchPath) }
            let scratch = try Database(path: scratchPath, columnFamilies: StoreLayout.columnFamilies)
            defer { scratch.close() }
            let context = OperationContext(limits: limits, declarations: registry, partitioner: Partitioner(count: Int(count)))
            partitions.append(auditPartition(partition, database: database, store: store, scratch: scratch, context: context, isCancelled: isCancelled))
            if isCancelled() { throw Failure(description: "audit cancelled in partition \(partition)") }
        }
        do {
            try checkOutbox(database, partitions: Int(count), into: &partitions)
        } catch {
            partitions[0].problems.append("the outbox cannot be read: \(error)")
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return AuditReport(partitions: partitions, seconds: seconds)
    }

    private static func auditPartition(
        _ partition: Int, database: Database, store: EmbeddedLogStore, scratch: Database, context: OperationContext, isCancelled: () -> Bool
    ) -> AuditReport.Partition {
        var report = AuditReport.Partition(partition: partition)
        let log: any PartitionLog
        do {
            log = try store.openLog(partition: partition)
        } catch {
            report.problems.append("\(error)")
            return report
        }
        report.firstOffset = log.firstOffset
        report.lastOffset = log.nextOffset - 1
        // Records through `replayedAfter` are only verified; those after it are re-run.
        var replayedAfter: UInt64 = 0
        switch startingPoint(partition, log: log, database: database, into: &report) {
        case .beginning:
            report.stateRederivedFrom = "the beginning of the log"
        case .snapshot(let offset):
            do {
                try seed(partition, from: database, into: scratch, context: context)
            } catch {
                report.problems.append("the base snapshot cannot be copied: \(error)")
                return report
            }
            replayedAfter = offset
            report.snapshotOffset = offset
            report.stateRederivedFrom = "a verified snapshot at offset \(offset)"
        case .none(let reason):
            report.stateNotRederivedBecause = reason
        }
        let rederive = report.stateRederivedFrom != nil
        report.stateRederived = rederive
        var view = StateView(database: scratch, partition: partition)
        var mismatchedOutcomes = 0
        var offset = log.firstOffset
        do {
            while offset < log.nextOffset {
                if isCancelled() { return report }
                let entries = try log.read(from: offset, limit: 512)
                let batch = WriteBatch()
                view.reset()
                for entry in entries {
                    report.recordsVerified += 1
                    offset = entry.offset + 1
                    // A pruned read: its place in the chain is verified, and it changed nothing.
                    guard let bytes = entry.payload else {
                        report.recordsPruned += 1
                        continue
                    }
                    guard rederive, entry.offset > replayedAfter else { continue }
                    let payload: LogPayload
                    do {
                        payload = try LogPayload(decoding: bytes)
                    } catch {
                        throw Failure(description: "record \(entry.offset) does not decode: \(error)")
                    }
                    if entry.prunable, !payload.outcome.isRead {
                        report.problems.append("record \(entry.offset) is marked prunable but is not a read")
                    }
                    view.currentOffset = entry.offset
                    let handled = try Operations.handle(payload.event, state: view, context: context)
                    if !sameOutcome(handled.outcome, payload.outcome) {
                        mismatchedOutcomes += 1
                        if mismatchedOutcomes == 1 {
                            report.problems.append("record \(entry.offset): re-running its event gives a different outcome than the one recorded")
                        }
                    }
                    if case .applied(let changes) = payload.outcome {
                        view.apply(changes, into: batch)
                        if payload.event.op == .declare, let source = payload.event.source {
                            try context.declarations.register(entry.offset, source: source)
                        }
                    }
                }
                try scratch.write(batch, sync: false)
            }
        } catch {
            report.problems.append("\(error)")
            return report
        }
        if mismatchedOutcomes > 1 {
            report.problems.append("\(mismatchedOutcomes) records in all have outcomes that differ on re-run")
        }
        do {
            let meta = database.columnFamily(StoreLayout.meta)
            let applied = try database.get(meta, key: StoreLayout.metaKey(partition: partition, .appliedOffset)).flatMap(StoreLayout.decodeUInt64) ?? 0
            if applied != log.nextOffset - 1 {
                report.problems.append("state says offset \(applied) is applied, but the log ends at \(log.nextOffset - 1)")
            }
            guard rederive else { return report }
            try compareState(partition, live: database, rederived: scratch, into: &report)
        } catch {
            report.problems.append("\(error)")
        }
        return report
    }

    /// The recorded outcome and the re-derived one agree on everything they both hold
    /// (a read's stored answer exists only for client-chosen IDs, so it is not compared).
    private static func sameOutcome(_ rederived: Outcome, _ recorded: Outcome) -> Bool {
        switch (rederived, recorded) {
        case let (.applied(a), .applied(b)): a == b
        case let (.rejected(a), .rejected(b)): a.code == b.code
        case let (.read(a), .read(b)): a.digest == b.digest && a.sources == b.sources
        default: false
        }
    }

    /// Digests both states in key order and names the first key whose values differ.
    private static func compareState(_ partition: Int, live: Database, rederived: Database, into report: inout AuditReport.Partition) throws {
        let range = StoreLayout.partitionRange(partition)
        let liveState = live.columnFamily(StoreLayout.state)
        let scratchState = rederived.columnFamily(StoreLayout.state)
        var liveHash = SHA256()
        var difference: [UInt8]? = nil
        var liveCount = 0
        try live.scan(liveState, from: range.start, to: range.end) { key, value in
            liveHash.update(bufferPointer: key)
            liveHash.update(bufferPointer: value)
            liveCount += 1
            if difference == nil, try rederived.get(scratchState, key: key) != Array(value) {
                difference = Array(key)
            }
            return true
        }
        var scratchHash = SHA256()
        var scratchCount = 0
        try rederived.scan(scratchState, from: range.start, to: range.end) { key, value in
            scratchHash.update(bufferPointer: key)
            scratchHash.update(bufferPointer: value)
            scratchCount += 1
            // A key the log produced that live state lacks, earlier than any difference so far.
            if try live.get(liveState, key: key) == nil, difference.map({ key.lexicographicallyPrecedes($0) }) ?? true {
                difference = Array(key)
            }
            return true
        }
        report.liveDigest = hex(liveHash.finalize())
        report.rederivedDigest = hex(scratchHash.finalize())
        if let difference {
            report.firstDifference = describe(stateKey: difference)
            report.problems.append("live state differs from the state the log derives (\(liveCount) live keys, \(scratchCount) derived), first at \(report.firstDifference!)")
        }
    }

    /// "table/key" from a state key (partition, table, NUL, key).
    private static func describe(stateKey: [UInt8]) -> String {
        let rest = stateKey.dropFirst(2)
        guard let nul = rest.firstIndex(of: 0) else { return String(decoding: rest, as: UTF8.self) }
        return String(decoding: rest[..<nul], as: UTF8.self) + "/" + String(decoding: rest[(nul + 1)...], as: UTF8.self)
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
