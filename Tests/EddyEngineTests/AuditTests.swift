@testable import EddyEngine
import EddyLog
import EddyModel
import EddyStorage
import Foundation
import Testing

@Suite struct AuditTests {
    /// A mix of every op, including rejections and reads, across partitions.
    static func fill(_ h: EngineHarness) async throws {
        for index in 0..<40 {
            let key = JSON.string("k\(index)")
            _ = try await h.send(["op": "put", "table": "users", "key": key, "value": ["n": .number(Double(index))]])
            _ = try await h.send(["id": .string("i\(index)"), "op": "incr", "table": "counters", "key": .string("c\(index % 7)"), "field": "n"])
            _ = try await h.send(["op": "patch", "table": "users", "key": key, "value": ["tag": "x"]])
            _ = try await h.send(["op": "insert", "table": "users", "key": key, "value": 0])  // rejected: exists
            _ = try await h.send(["id": .string("g\(index)"), "op": "get", "table": "users", "key": key, "client": "audit-test"])
        }
        _ = try await h.send(["op": "put", "table": "counters", "key": "text", "value": ["n": "words"]])
        _ = try await h.send(["op": "incr", "table": "counters", "key": "text", "field": "n"])  // rejected: not a number
        _ = try await h.send(["op": "delete", "table": "users", "key": "k3"])
        _ = try await h.send(["op": "scan", "table": "users", "prefix": "k1", "limit": 5])
    }

    static func audit(_ h: EngineHarness) throws -> AuditReport {
        h.engine.close()
        let scratch = NSTemporaryDirectory() + "eddy-audit-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        return try Auditor.audit(dataDirectory: h.directory, scratchDirectory: scratch)
    }

    /// Rewrites one stored value behind the log's back, as tampering or a bad disk would.
    static func overwriteState(_ h: EngineHarness, table: String, key: String, with value: [UInt8]?) throws {
        let p = h.partition(of: table, key)
        try h.withClosedStore { database, _ in
            let batch = WriteBatch()
            let stateKey = StoreLayout.stateKey(partition: p, table: table, key: key)
            if let value { batch.put(database.columnFamily(StoreLayout.state), key: stateKey, value: value) } else { batch.delete(database.columnFamily(StoreLayout.state), key: stateKey) }
            try database.write(batch, sync: true)
        }
    }

    @Test func audit_ofAnUntouchedDataDirectory_isClean_andVerifiesEveryRecord() async throws {
        let h = try EngineHarness()
        try await Self.fill(h)
        let applied = (0..<h.configuration.partitions).reduce(UInt64(0)) { $0 + h.engine.appliedOffset(partition: $1) }
        let report = try Self.audit(h)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
        #expect(report.recordsVerified == applied)
        #expect(report.partitions.allSatisfy { $0.stateRederived && $0.liveDigest == $0.rederivedDigest })
    }

    @Test func audit_whenAStateValueWasChangedBehindTheLog_namesThePartitionAndKey() async throws {
        let h = try EngineHarness()
        try await Self.fill(h)
        let p = h.partition(of: "users", "k7")
        try Self.overwriteState(h, table: "users", key: "k7", with: StoredValue(producedAt: 1, json: Array(#"{"n":700}"#.utf8)).encoded())
        let report = try Self.audit(h)
        #expect(!report.isClean)
        let damaged = try #require(report.partitions.first { !$0.isClean })
        #expect(damaged.partition == p)
        #expect(damaged.firstDifference == "users/k7")
        #expect(damaged.liveDigest != damaged.rederivedDigest)
        #expect(report.partitions.filter { !$0.isClean }.count == 1)
    }

    @Test func audit_whenAKeyWasDeletedBehindTheLog_namesIt() async throws {
        let h = try EngineHarness()
        try await Self.fill(h)
        try Self.overwriteState(h, table: "counters", key: "c2", with: nil)
        let report = try Self.audit(h)
        #expect(report.partitions.first { !$0.isClean }?.firstDifference == "counters/c2")
    }

    @Test func audit_whenALogRecordIsDamaged_reportsTheCorruptOffset() async throws {
        let h = try EngineHarness()
        try await Self.fill(h)
        let p = h.partition(of: "users", "k0")
        try h.damageLogRecord(partition: p, offset: 2)
        let report = try Self.audit(h)
        let damaged = try #require(report.partitions.first { $0.partition == p })
        #expect(!damaged.isClean)
        #expect(damaged.problems.contains { $0.contains("corrupt at offset 2") })
    }

    @Test func audit_afterRetention_verifiesTheChainItHas_andRederivesFromTheSnapshot() async throws {
        let h = try EngineHarness { $0.retainedRecordsPerPartition = 10 }
        for index in 0..<1100 {
            _ = try await h.send(["op": "incr", "table": "counters", "key": "c", "field": "n", "id": .string("r\(index)")])
        }
        let p = h.partition(of: "counters", "c")
        let report = try Self.audit(h)
        let partition = try #require(report.partitions.first { $0.partition == p })
        #expect(partition.isClean)
        #expect(partition.stateRederived)
        #expect(partition.stateRederivedFrom == "a verified snapshot at offset \(partition.firstOffset - 1)")
        #expect(partition.firstOffset > 1)
        #expect(partition.recordsVerified == partition.lastOffset - partition.firstOffset + 1)
    }

    @Test func audit_ofAMissingDirectory_failsWithAClearReason() throws {
        #expect {
            _ = try Auditor.audit(dataDirectory: "/nonexistent/eddy-data", scratchDirectory: NSTemporaryDirectory() + "x")
        } throws: { error in
            "\(error)".contains("no Eddy data directory")
        }
    }
}
