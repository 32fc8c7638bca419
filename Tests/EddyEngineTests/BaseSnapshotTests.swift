@testable import EddyEngine
import EddyLog
import EddyModel
import EddyStorage
import Foundation
import Logging
import Testing

/// Audit with log retention: what the removed records derived is folded into the base
/// snapshot, and the audit re-derives state from it plus the log that is left.
@Suite struct BaseSnapshotTests {
    /// Log retention small enough that a few thousand events truncate every partition.
    static func harness(partitions: Int = 2, _ adjust: (inout EngineConfiguration) -> Void = { _ in }) throws -> EngineHarness {
        try EngineHarness {
            $0.partitions = partitions
            $0.retainedRecordsPerPartition = 10
            adjust(&$0)
        }
    }

    /// Early documents (written once, then left alone, so after truncation they live only in
    /// the base and live state), deletes, rejections and reads, then enough counter traffic
    /// that every partition's log is truncated past them.
    static func fill(_ h: EngineHarness) async throws {
        try await AuditTests.fill(h)
        var events: [JSON] = []
        for index in 0..<2400 {
            events.append(["id": .string("n\(index)"), "op": "incr", "table": "counters", "key": .string("hot\(index % 5)"), "field": "n"])
            if index % 3 == 0 { events.append(["op": "get", "table": "counters", "key": .string("hot\(index % 5)"), "client": "c"]) }
            if index % 100 == 0 { events.append(["op": "delete", "table": "counters", "key": .string("hot\((index / 100) % 5)")]) }
        }
        for chunk in stride(from: 0, to: events.count, by: 500) {
            let results = await h.engine.handle(batch: try events[chunk..<min(chunk + 500, events.count)].map { try Event(json: $0, limits: h.configuration.limits) })
            #expect(results.allSatisfy { $0.error == nil })
        }
    }

    static func audit(_ h: EngineHarness) throws -> AuditReport {
        try AuditTests.audit(h)
    }

    @Test func audit_withRetention_rederivesFromTheVerifiedSnapshot_andIsClean() async throws {
        let h = try Self.harness()
        try await Self.fill(h)
        let report = try Self.audit(h)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        for partition in report.partitions {
            #expect(partition.firstOffset > 1000, "partition \(partition.partition) was truncated")
            #expect(partition.stateRederived)
            #expect(partition.snapshotOffset == partition.firstOffset - 1)
            #expect(partition.stateRederivedFrom == "a verified snapshot at offset \(partition.firstOffset - 1)")
            #expect(partition.liveDigest == partition.rederivedDigest)
            #expect(partition.json["stateRederivedFrom"]?.stringValue?.contains("verified snapshot") == true)
        }
    }

    @Test func audit_withRetention_whenALiveValueFromTheTruncatedPrefixWasChanged_namesIt() async throws {
        let h = try Self.harness()
        try await Self.fill(h)
        // users/k7 was written at the start only: the records that wrote it are gone.
        try AuditTests.overwriteState(h, table: "users", key: "k7", with: StoredValue(producedAt: 1, json: Array(#"{"n":700}"#.utf8)).encoded())
        let report = try Self.audit(h)
        let damaged = try #require(report.partitions.first { !$0.isClean })
        #expect(damaged.partition == h.partition(of: "users", "k7"))
        #expect(damaged.stateRederivedFrom?.contains("verified snapshot") == true)
        #expect(damaged.firstDifference == "users/k7")
        #expect(report.partitions.filter { !$0.isClean }.count == 1)
    }

    @Test func audit_withRetention_whenALiveValueWrittenAfterTheSnapshotWasDeleted_namesIt() async throws {
        let h = try Self.harness()
        try await Self.fill(h)
        try AuditTests.overwriteState(h, table: "counters", key: "hot1", with: nil)
        let report = try Self.audit(h)
        #expect(report.partitions.first { !$0.isClean }?.firstDifference == "counters/hot1")
    }

    @Test func audit_whenTheBaseWasChangedBehindTheLog_reportsTheDigestMismatch_andDoesNotUseIt() async throws {
        let h = try Self.harness()
        try await Self.fill(h)
        let p = h.partition(of: "users", "k7")
        try h.withClosedStore { database, _ in
            let batch = WriteBatch()
            batch.put(database.columnFamily(StoreLayout.base), key: StoreLayout.stateKey(partition: p, table: "users", key: "k7"),
                      value: StoredValue(producedAt: 1, json: Array(#"{"n":700}"#.utf8)).encoded())
            try database.write(batch, sync: true)
        }
        let report = try Self.audit(h)
        let damaged = try #require(report.partitions.first { $0.partition == p })
        #expect(damaged.problems.contains { $0.contains("does not match its digest") })
        #expect(!damaged.stateRederived)
        #expect(damaged.stateNotRederivedBecause == "its base snapshot failed verification")
        #expect(report.partitions.filter { !$0.isClean }.map(\.partition) == [p])
    }

    @Test func audit_whenTheBaseNamesAnotherRecordHash_refusesIt() async throws {
        let h = try Self.harness(partitions: 1)
        try await Self.fill(h)
        try h.withClosedStore { database, _ in
            var summary = try #require(try BaseSnapshot.summary(database, partition: 0))
            summary.recordHash[0] ^= 0x01
            let batch = WriteBatch()
            batch.put(database.columnFamily(StoreLayout.meta), key: StoredLayoutKeys.base(0), value: summary.encoded())
            try database.write(batch, sync: true)
        }
        let report = try Self.audit(h)
        #expect(report.partitions[0].problems.contains { $0.contains("hash the log does not have") })
        #expect(!report.partitions[0].stateRederived)
    }

    /// A crash after the fold's batch but before the truncation it precedes: the base is
    /// ahead of the log's start. The audit still starts from it, and the operator's next
    /// truncation neither folds anything twice nor loses anything.
    @Test func foldWithoutTruncation_auditsClean_andRetentionCarriesOnWithoutApplyingTwice() async throws {
        let h = try Self.harness(partitions: 1)
        try await Self.fill(h)
        let counters = try await (0..<5).asyncMap { try await h.result(["op": "get", "table": "counters", "key": .string("hot\($0)")])["value"] }
        let folded = try h.withClosedStore { database, store in
            let log = try store.openLog(partition: 0)
            let base = try #require(try BaseSnapshot.fold(log: log, database: database, partition: 0, through: log.nextOffset - 5))
            #expect(base.offset > log.firstOffset)
            return base.offset
        }
        let report = try Self.audit(h)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        #expect(report.partitions[0].snapshotOffset == folded)
        #expect(report.partitions[0].stateRederivedFrom == "a verified snapshot at offset \(folded)")

        // The server starts again: retries change nothing, and truncation resumes from the base.
        try h.restart()
        for index in 0..<1200 {
            let retry = try await h.send(["id": .string("n\(index)"), "op": "incr", "table": "counters", "key": .string("hot\(index % 5)"), "field": "n"])
            #expect(retry.error == nil || retry.error?.code == .outcomeExpired)
        }
        for key in 0..<5 {
            #expect(try await h.result(["op": "get", "table": "counters", "key": .string("hot\(key)")])["value"] == counters[key])
        }
        for _ in 0..<1100 { _ = try await h.send(["op": "incr", "table": "counters", "key": "after", "field": "n"]) }
        #expect(try await h.result(["op": "get", "table": "counters", "key": "after"])["value"] == ["n": 1100])
        let again = try Self.audit(h)
        #expect(again.isClean, "\(again.partitions.flatMap(\.problems))")
        #expect(again.partitions[0].snapshotOffset ?? 0 > folded)
    }

    /// A data directory whose log was truncated before base snapshots existed has none, and
    /// can never get one: it is audited as before, saying why state is not re-derived.
    @Test func audit_ofATruncatedLogWithoutABase_verifiesTheChain_andSaysWhyStateWasNotRederived() async throws {
        let h = try Self.harness(partitions: 1)
        try await Self.fill(h)
        try h.withClosedStore { database, _ in
            let batch = WriteBatch()
            let range = StoreLayout.partitionRange(0)
            batch.deleteRange(database.columnFamily(StoreLayout.base), from: range.start, to: range.end)
            batch.delete(database.columnFamily(StoreLayout.meta), key: StoredLayoutKeys.base(0))
            try database.write(batch, sync: true)
        }
        try h.restart()
        // Retention goes on without a base.
        for _ in 0..<1100 { _ = try await h.send(["op": "incr", "table": "counters", "key": "later", "field": "n"]) }
        let report = try Self.audit(h)
        let partition = report.partitions[0]
        #expect(partition.isClean, "\(partition.problems)")
        #expect(!partition.stateRederived)
        #expect(partition.stateNotRederivedBecause?.contains("before this data directory kept a base snapshot") == true)
        #expect(partition.recordsVerified == partition.lastOffset - partition.firstOffset + 1)
    }

    /// A data directory made before the `base` family existed opens (the family is created
    /// empty), folds on its first truncation, and audits from the snapshot.
    @Test func dataDirectoryWithoutTheBaseFamily_opens_andGetsASnapshot() async throws {
        let directory = NSTemporaryDirectory() + "eddy-old-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = StoreLayout.columnFamilies.filter { $0 != StoreLayout.base }
        try Database(path: directory, columnFamilies: before).close()
        var configuration = EngineConfiguration(dataDirectory: directory)
        configuration.partitions = 1
        configuration.tables = ["counters"]
        configuration.retainedRecordsPerPartition = 10
        let engine = try Engine(configuration: configuration, logger: Logger(label: "test"))
        for _ in 0..<1100 { _ = await engine.handle(try Event(json: ["op": "incr", "table": "counters", "key": "c", "field": "n"], limits: Limits())) }
        engine.close()
        let scratch = NSTemporaryDirectory() + "eddy-audit-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let report = try Auditor.audit(dataDirectory: directory, scratchDirectory: scratch)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        #expect(report.partitions[0].stateRederivedFrom?.hasPrefix("a verified snapshot") == true)
    }

    /// Partition 0's `declare` records register declaration versions; once retention removed
    /// them, the versions come from the base (they are documents of `@declarations`), so calls
    /// that ran with them still re-run with them.
    @Test func audit_withRetention_registersDeclarationsFromTheBase() async throws {
        let parser: DeclarationRegistry.Parser = { source, base in
            source == "double" ? SpanningTests.declarations(creditFactor: "2") : base
        }
        let h = try Self.harness(partitions: 1) {
            $0.tables = ["users", "stock", "counters", "outcomes"]
            $0.declarations = SpanningTests.declarations()
            $0.declarationParser = parser
        }
        _ = try await h.result(["op": "put", "table": "counters", "key": "from", "value": ["n": 1000]])
        _ = try await h.result(["op": "put", "table": "counters", "key": "to", "value": ["n": 0]])
        #expect(try await h.result(["op": "declare", "source": "double"])["ok"] == true)
        for index in 0..<1100 { _ = try await h.send(["op": "incr", "table": "counters", "key": "pad", "field": "n", "id": .string("p\(index)")]) }
        let call = try await h.result(["id": "m1", "op": "call", "procedure": "move", "input": ["from": "from", "to": "to", "amount": 10]])
        #expect(call["ok"] == true, "\(call)")
        #expect(try await h.result(["op": "get", "table": "counters", "key": "to"])["value"] == ["n": 20], "credited with the declared version")
        h.engine.close()
        let scratch = NSTemporaryDirectory() + "eddy-audit-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let report = try Auditor.audit(dataDirectory: h.directory, declarations: SpanningTests.declarations(), parser: parser, scratchDirectory: scratch)
        #expect(report.partitions[0].firstOffset > 3, "the declare record is gone")
        #expect(report.partitions[0].stateRederivedFrom?.contains("verified snapshot") == true)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
    }
}

/// Meta keys the tests rewrite.
enum StoredLayoutKeys {
    static func base(_ partition: Int) -> [UInt8] { StoreLayout.metaKey(partition: partition, .baseSnapshot) }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var values: [T] = []
        for element in self { values.append(try await transform(element)) }
        return values
    }
}

@Suite struct MultisetDigestTests {
    @Test func digest_isIndependentOfOrder_andRemovingUndoesInserting() {
        let pairs: [([UInt8], [UInt8])] = (0..<50).map { (Array("key\($0)".utf8), Array("value \($0 * 7)".utf8)) }
        var forward = MultisetDigest()
        pairs.forEach { forward.insert(key: $0.0, value: $0.1) }
        var backward = MultisetDigest()
        pairs.reversed().forEach { backward.insert(key: $0.0, value: $0.1) }
        #expect(forward == backward)
        #expect(forward != MultisetDigest())
        var changed = forward
        changed.remove(key: pairs[3].0, value: pairs[3].1)
        #expect(changed != forward)
        changed.insert(key: pairs[3].0, value: pairs[3].1)
        #expect(changed == forward)
        pairs.forEach { changed.remove(key: $0.0, value: $0.1) }
        #expect(changed == MultisetDigest())
        #expect(MultisetDigest(bytes: forward.bytes) == forward)
    }

    @Test func digest_tellsKeyFromValue() {
        var a = MultisetDigest()
        a.insert(key: [1, 2], value: [3])
        var b = MultisetDigest()
        b.insert(key: [1], value: [2, 3])
        #expect(a != b)
    }
}
