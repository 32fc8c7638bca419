import EddyLog
import EddyStorage
import Testing

/// The shared `PartitionLog` contract, run against the embedded RocksDB log.
@Suite("EmbeddedLog: PartitionLog compatibility")
struct EmbeddedLogCompatibilityTests {
    static let compat = PartitionLogCompatibility(columnFamilies: [EmbeddedLog.columnFamily, "state"], stateFamily: "state") {
        store, partition in try store.logStore.openLog(partition: partition)
    }

    @Test(arguments: PartitionLogCompatibility.Behaviour.allCases)
    func embeddedLog_satisfiesPartitionLogContract(_ behaviour: PartitionLogCompatibility.Behaviour) throws {
        try Self.compat.run(behaviour)
    }

    @Test func compatibility_onPartitionZero_startsFromItsOwnGenesis() throws {
        var compat = Self.compat
        compat.partition = 0
        try compat.emptyLog_startsAtOffsetOneWithGenesisHash()
        try compat.partitions_inOneDatabase_areIndependent()
    }
}

/// Damage written straight into the "log" column family, behind the log's back.
@Suite("EmbeddedLog: corruption is detected")
struct EmbeddedLogCorruptionTests {
    static let partition = 2
    static let families = [EmbeddedLog.columnFamily, "state"]

    @Test func read_payloadByteFlipped_throwsCorruptAtThatOffset() throws {
        try withFilledLog(records: 5) { store, log throws in
            try damage(store, offset: 3) { $0[1 + HashChain.hashBytes + 2] ^= 0x01 }
            let error = #expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }
            #expect(corruptOffset(error) == 3)
            #expect(corruptReason(error)?.contains("hash") == true)
            // Starting at the damaged record finds it too.
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 3, limit: 10) }) == 3)
            // Records before the damage still read, when the read stops before it.
            #expect(try log.read(from: 1, limit: 2).map(\.offset) == [1, 2])
        }
    }

    @Test func read_storedHashByteFlipped_throwsCorruptAtThatOffset() throws {
        try withFilledLog(records: 5) { store, log throws in
            try damage(store, offset: 2) { $0[1] ^= 0x80 }
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }) == 2)
        }
    }

    @Test func read_payloadReplacedWithSameLength_throwsCorrupt() throws {
        try withFilledLog(records: 4) { store, log throws in
            try damage(store, offset: 4) { value in
                value.replaceSubrange((1 + HashChain.hashBytes)..., with: payload(9, partition: Self.partition))
            }
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 2, limit: 10) }) == 4)
        }
    }

    @Test func read_formatByteDamaged_throwsCorruptHeader() throws {
        try withFilledLog(records: 3) { store, log throws in
            try damage(store, offset: 2) { $0[0] = 0xEE }
            let error = #expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }
            #expect(corruptOffset(error) == 2)
            #expect(corruptReason(error)?.contains("header") == true)
        }
    }

    @Test func read_valueShorterThanHeader_throwsCorrupt() throws {
        try withFilledLog(records: 3) { store, log throws in
            try damage(store, offset: 2) { $0 = Array($0.prefix(HashChain.hashBytes)) }
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }) == 2)
        }
    }

    @Test func read_acrossDeletedMiddleRecord_throwsCorruptMissing() throws {
        try withFilledLog(records: 6) { store, log throws in
            try deleteRecord(store, offset: 4)
            let error = #expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }
            #expect(corruptOffset(error) == 4)
            #expect(corruptReason(error)?.contains("missing") == true)
            #expect(try log.read(from: 1, limit: 3).map(\.offset) == [1, 2, 3])
            // A read starting right after the hole cannot link its first record either.
            let after = #expect(throws: LogError.self) { try log.read(from: 5, limit: 10) }
            #expect(corruptOffset(after) == 4)
            #expect(corruptReason(after)?.contains("missing") == true)
        }
    }

    @Test func read_tailRecordDeleted_throwsCorruptMissing() throws {
        try withFilledLog(records: 4) { store, log throws in
            try deleteRecord(store, offset: 4)
            let error = #expect(throws: LogError.self) { try log.read(from: 2, limit: 10) }
            #expect(corruptOffset(error) == 4)
            #expect(corruptReason(error)?.contains("missing") == true)
        }
    }

    @Test func read_recordsSwapped_throwsCorrupt() throws {
        try withFilledLog(records: 4) { store, log throws in
            let second = try #require(try stored(store, offset: 2))
            let third = try #require(try stored(store, offset: 3))
            try write(store, offset: 2, value: third)
            try write(store, offset: 3, value: second)
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }) == 2)
        }
    }

    @Test func read_recordCopiedFromAnotherPartition_throwsCorrupt() throws {
        try withLogStore(columnFamilies: Self.families) { store throws in
            let other = try store.logStore.openLog(partition: Self.partition + 1)
            try store.logStore.append(to: other, [payload(1)], with: WriteBatch(), durable: true)
            let log = try store.logStore.openLog(partition: Self.partition)
            try store.logStore.append(to: log, [payload(1)], with: WriteBatch(), durable: true)
            // Same payload, same offset, but chained from the other partition's genesis.
            let foreign = try #require(try stored(store, partition: Self.partition + 1, offset: 1))
            try write(store, offset: 1, value: foreign)
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }) == 1)
            #expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }
        }
    }

    @Test func reopen_tailPayloadDamaged_throwsCorruptAtTail() throws {
        try withFilledLog(records: 5) { store, _ throws in
            try damage(store, offset: 5) { $0[$0.count - 1] ^= 0xFF }
            let error = #expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }
            #expect(corruptPartition(error) == Self.partition)
            #expect(corruptOffset(error) == 5)
        }
    }

    @Test func reopen_tailDamaged_afterDatabaseRestart_throwsCorrupt() throws {
        try withFilledLog(records: 3) { store, _ throws in
            try damage(store, offset: 3) { $0[1 + HashChain.hashBytes] ^= 0x40 }
            try store.reopenDatabase()
            let error = #expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }
            #expect(corruptOffset(error) == 3)
        }
    }

    @Test func reopen_singleRecordDamaged_throwsCorrupt() throws {
        try withFilledLog(records: 1) { store, _ throws in
            try damage(store, offset: 1) { $0.append(0) }
            #expect(corruptOffset(#expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }) == 1)
        }
    }

    @Test func reopen_tailHeaderDamaged_throwsCorrupt() throws {
        try withFilledLog(records: 3) { store, _ throws in
            try damage(store, offset: 3) { $0 = Array($0.prefix(1)) }
            #expect(corruptOffset(#expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }) == 3)
        }
    }

    @Test func reopen_recordBeforeTailDeleted_throwsCorrupt() throws {
        try withFilledLog(records: 5) { store, _ throws in
            try deleteRecord(store, offset: 4)
            #expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }
        }
    }

    @Test func reopen_damageBeforeTail_opensButReadThrows() throws {
        // Opening checks only the tail; the rest is checked when read.
        try withFilledLog(records: 5) { store, _ throws in
            try damage(store, offset: 2) { $0[$0.count - 1] ^= 0x01 }
            let log = try store.logStore.openLog(partition: Self.partition)
            #expect(log.nextOffset == 6)
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }) == 2)
            #expect(try log.read(from: 3, limit: 10).map(\.offset) == [3, 4, 5])
        }
    }

    @Test func reopen_afterTruncate_tailDamaged_throwsCorrupt() throws {
        try withFilledLog(records: 6) { store, log throws in
            try log.truncate(before: 6)
            try damage(store, offset: 6) { $0[1 + HashChain.hashBytes] ^= 0x02 }
            #expect(corruptOffset(#expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }) == 6)
        }
    }

    @Test func reopen_afterTruncate_anchorMissing_throwsCorrupt() throws {
        try withFilledLog(records: 6) { store, log throws in
            try log.truncate(before: 6)
            let batch = WriteBatch()
            batch.delete(store.database.columnFamily(EmbeddedLog.columnFamily), key: logKey(Self.partition, 0))
            try store.database.write(batch, sync: true)
            let error = #expect(throws: LogError.self) { try store.logStore.openLog(partition: Self.partition) }
            #expect(corruptOffset(error) == 6)
            #expect(corruptReason(error)?.contains("anchor") == true)
        }
    }

    @Test func read_fromFirstOffset_anchorDamaged_throwsCorrupt() throws {
        try withFilledLog(records: 8) { store, log throws in
            try log.truncate(before: 4)
            var anchor = try #require(try stored(store, offset: 0))
            anchor[5] ^= 0x10
            try write(store, offset: 0, value: anchor)
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 4, limit: 10) }) == 4)
            // Reads that start after the first kept record link to stored records, not the anchor.
            #expect(try log.read(from: 5, limit: 10).map(\.offset) == [5, 6, 7, 8])
        }
    }

    @Test func storedLayout_matchesDocumentedKeyAndValueFormat() throws {
        // The corruption tests above rely on this layout; check it against what `read` returns.
        try withFilledLog(records: 3) { store, log throws in
            let entries = try log.read(from: 1, limit: 10)
            for entry in entries {
                let value = try #require(try stored(store, offset: entry.offset))
                #expect(value.first == 2)  // format 2: hash, flags, payload
                #expect(Array(value[1...HashChain.hashBytes]) == entry.hash)
                #expect(value[1 + HashChain.hashBytes] == 0)  // not prunable
                #expect(Array(value[(2 + HashChain.hashBytes)...]) == entry.payload)
            }
            #expect(try stored(store, offset: 0) == nil)
            #expect(try stored(store, offset: 4) == nil)
        }
    }

    @Test func storedLayout_ofAPrunedRecord_keepsHashFlagsAndPayloadDigest() throws {
        try withLogStore(columnFamilies: Self.families) { store throws in
            let log = try store.logStore.openLog(partition: Self.partition)
            try store.logStore.append(to: log, records: [StagedRecord(payload(1), prunable: true)], with: WriteBatch(), durable: true)
            let entry = try #require(try log.read(from: 1, limit: 1).first)
            try pruneCommitted(store, log, [1])
            let value = try #require(try stored(store, offset: 1))
            #expect(value == [3] + entry.hash + [HashChain.prunableFlag] + HashChain.digest(payload(1)))
        }
    }

    @Test func read_writeRecordTurnedIntoStub_throwsCorrupt() throws {
        // The stub keeps the record's hash and payload digest, so the hash would still verify;
        // only the prunable mark, which is hashed, tells that this record was never a read.
        try withFilledLog(records: 4) { store, log throws in
            let entry = try #require(try log.read(from: 3, limit: 1).first)
            try write(store, offset: 3, value: [3] + entry.hash + [0] + HashChain.digest(entry.payload!))
            let error = #expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }
            #expect(corruptOffset(error) == 3)
            #expect(corruptReason(error)?.contains("never staged as prunable") == true)
            // Claiming the mark breaks the hash instead.
            try write(store, offset: 3, value: [3] + entry.hash + [HashChain.prunableFlag] + HashChain.digest(entry.payload!))
            let marked = #expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }
            #expect(corruptOffset(marked) == 3)
            #expect(corruptReason(marked)?.contains("hash") == true)
        }
    }

    @Test func read_stubDigestDamaged_throwsCorruptAtTheStub() throws {
        try withLogStore(columnFamilies: Self.families) { store throws in
            let log = try store.logStore.openLog(partition: Self.partition)
            try store.logStore.append(to: log, records: (1...4).map { StagedRecord(payload($0), prunable: $0 == 2) }, with: WriteBatch(), durable: true)
            try pruneCommitted(store, log, [2])
            try damage(store, offset: 2) { $0[$0.count - 1] ^= 0x04 }
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }) == 2)
            // Its stored hash damaged instead: the stub's own check catches it.
            try damage(store, offset: 2) { $0[$0.count - 1] ^= 0x04; $0[5] ^= 0x01 }
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.read(from: 1, limit: 10) }) == 2)
        }
    }

    @Test func prune_damagedRecord_throwsCorrupt_andPrunesNothing() throws {
        try withLogStore(columnFamilies: Self.families) { store throws in
            let log = try store.logStore.openLog(partition: Self.partition)
            try store.logStore.append(to: log, records: (1...3).map { StagedRecord(payload($0), prunable: true) }, with: WriteBatch(), durable: true)
            try damage(store, offset: 2) { $0[$0.count - 1] ^= 0x01 }
            let batch = WriteBatch()
            #expect(corruptOffset(#expect(throws: LogError.self) { try log.prune([2], into: batch) }) == 2)
            #expect(batch.count == 0)
        }
    }

    @Test func legacyRecords_writtenBeforePruning_stillVerify_andTheChainContinues() throws {
        // A data directory from before format 2: records of format 1, hashed with `legacyLink`.
        try withLogStore(columnFamilies: Self.families) { store throws in
            var hash = HashChain.genesis(partition: Self.partition)
            for offset: Offset in 1...3 {
                hash = HashChain.legacyLink(previous: hash, offset: offset, payload: payload(Int(offset)))
                try write(store, offset: offset, value: [1] + hash + payload(Int(offset)))
            }
            let log = try store.logStore.openLog(partition: Self.partition)
            #expect(log.nextOffset == 4)
            #expect(log.lastHash == hash)
            try store.logStore.append(to: log, records: [StagedRecord(payload(4), prunable: true), StagedRecord(payload(5))], with: WriteBatch(), durable: true)
            let entries = try log.read(from: 1, limit: 10)
            #expect(entries.map(\.payload) == (1...5).map { payload($0) })
            #expect(entries.map(\.prunable) == [false, false, false, true, false])
            #expect(entries[3].hash == HashChain.link(previous: hash, offset: 4, payload: payload(4), prunable: true))
            try pruneCommitted(store, log, [4])
            try store.reopenDatabase()
            let reopened = try store.logStore.openLog(partition: Self.partition)
            #expect(try reopened.read(from: 1, limit: 10).map(\.isPruned) == [false, false, false, true, false])
            // A damaged legacy record is still caught.
            try damage(store, offset: 2) { $0[$0.count - 1] ^= 0x01 }
            #expect(corruptOffset(#expect(throws: LogError.self) { try reopened.read(from: 1, limit: 10) }) == 2)
        }
    }

    @Test func logError_descriptions_nameThePartitionAndOffset() {
        #expect(LogError.corrupt(partition: 2, offset: 7, reason: "record is missing").description
            == "log of partition 2 is corrupt at offset 7: record is missing")
        #expect(LogError.truncated(partition: 1, requested: 3, firstRetained: 9).description
            == "log of partition 1 no longer holds offset 3; the first retained offset is 9")
    }

    // MARK: - Helpers

    /// A log of `partition` with `records` appended (payloads 1…records).
    private func withFilledLog(records: Int, _ body: (LogTestStore, any PartitionLog) throws -> Void) throws {
        try withLogStore(columnFamilies: Self.families) { store throws in
            let log = try store.logStore.openLog(partition: Self.partition)
            if records > 0 {
                try store.logStore.append(to: log, (1...records).map { payload($0, partition: Self.partition) }, with: WriteBatch(), durable: true)
            }
            try body(store, log)
        }
    }

    /// The key EmbeddedLog documents: 2-byte big-endian partition, 8-byte big-endian offset.
    private func logKey(_ partition: Int, _ offset: Offset) -> [UInt8] {
        var writer = BinaryWriter(capacity: 10)
        writer.write(UInt16(partition))
        writer.write(offset)
        return writer.bytes
    }

    private func stored(_ store: LogTestStore, partition: Int = Self.partition, offset: Offset) throws -> [UInt8]? {
        try store.database.get(store.database.columnFamily(EmbeddedLog.columnFamily), key: logKey(partition, offset))
    }

    private func write(_ store: LogTestStore, offset: Offset, value: [UInt8]) throws {
        let batch = WriteBatch()
        batch.put(store.database.columnFamily(EmbeddedLog.columnFamily), key: logKey(Self.partition, offset), value: value)
        try store.database.write(batch, sync: true)
    }

    /// Rewrites the stored value of the record at `offset` with `change` applied.
    private func damage(_ store: LogTestStore, offset: Offset, _ change: (inout [UInt8]) -> Void) throws {
        var value = try #require(try stored(store, offset: offset))
        let original = value
        change(&value)
        #expect(value != original, "the damage must change the stored bytes")
        try write(store, offset: offset, value: value)
    }

    private func pruneCommitted(_ store: LogTestStore, _ log: any PartitionLog, _ offsets: [Offset]) throws {
        let batch = WriteBatch()
        _ = try log.prune(offsets, into: batch)
        try store.database.write(batch, sync: true)
    }

    private func deleteRecord(_ store: LogTestStore, offset: Offset) throws {
        #expect(try stored(store, offset: offset) != nil)
        let batch = WriteBatch()
        batch.delete(store.database.columnFamily(EmbeddedLog.columnFamily), key: logKey(Self.partition, offset))
        try store.database.write(batch, sync: true)
    }
}

private func corruptOffset(_ error: LogError?) -> UInt64? {
    guard case let .corrupt(_, offset, _)? = error else { return nil }
    return offset
}

private func corruptPartition(_ error: LogError?) -> Int? {
    guard case let .corrupt(partition, _, _)? = error else { return nil }
    return partition
}

private func corruptReason(_ error: LogError?) -> String? {
    guard case let .corrupt(_, _, reason)? = error else { return nil }
    return reason
}
