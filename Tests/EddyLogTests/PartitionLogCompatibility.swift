import EddyLog
import Foundation
import EddyStorage
import Testing

/// The behaviour every `PartitionLog` must show, written once and run against each
/// implementation (in the style of swift-configuration's `ProviderCompatTest`).
///
/// An implementation's test target instantiates it with a factory and runs every behaviour:
///
///     let compat = PartitionLogCompatibility { store, partition in
///         try store.logStore.openLog(partition: partition)
///     }
///     @Test(arguments: PartitionLogCompatibility.Behaviour.allCases)
///     func satisfiesContract(_ behaviour: PartitionLogCompatibility.Behaviour) throws {
///         try compat.run(behaviour)
///     }
///
/// The factory is called with the test store (its `database` is the one `stateWrites` go to)
/// each time the suite wants a log instance: at start, and again to simulate a restart,
/// either on the same `Database` or on a closed-and-reopened one. A log that keeps its
/// records elsewhere (NATS JetStream) must find them again from the factory alone.
struct PartitionLogCompatibility: Sendable {
    typealias Factory = @Sendable (LogTestStore, Int) throws -> any PartitionLog

    /// Column families the database is opened with; must include `stateFamily` and whatever the log needs.
    var columnFamilies: [String]
    /// The family the suite's `stateWrites` put into.
    var stateFamily: String
    /// The partition most behaviours use; the independence behaviour also uses the next two.
    var partition: Int
    var makeLog: Factory

    init(
        columnFamilies: [String] = [EmbeddedLog.columnFamily, "state"],
        stateFamily: String = "state",
        partition: Int = 3,
        makeLog: @escaping Factory
    ) {
        self.columnFamilies = columnFamilies
        self.stateFamily = stateFamily
        self.partition = partition
        self.makeLog = makeLog
    }

    /// One entry per behaviour, named after it, so a parameterized test reports each case by name.
    enum Behaviour: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case emptyLog_startsAtOffsetOneWithGenesisHash
        case append_returnsContiguousOffsetsStartingAtNextOffset
        case append_noPayloads_returnsEmptyRangeAndKeepsTail
        case read_returnsPayloadsInOrderWithTheirOffsets
        case read_respectsLimit
        case read_atOrPastEnd_returnsNothing
        case append_withStateWrites_makesRecordsAndStateVisibleTogether
        case append_withStateWrites_unsynced_survivesDatabaseReopenTogether
        case entries_chainHashesFromGenesis
        case append_thenNewInstanceOnSameDatabase_keepsTailAndChain
        case append_thenReopenedDatabase_keepsTailAndChain
        case partitions_inOneDatabase_areIndependent
        case truncate_removesOldRecordsAndMovesFirstOffset
        case truncate_atOrBeforeFirstOffset_changesNothing
        case truncate_beyondNextOffset_keepsTail
        case truncate_thenAppend_continuesChain
        case truncate_thenReopen_keepsFirstOffsetTailAndAnchor
        case truncate_twice_thenReopen_verifiesFromNewFirstOffset
        case truncate_everything_thenReopen_keepsNextOffsetAndLastHash
        case whenDurable_afterDurableAppend_reportsSuccess
        case whenDurable_withNothingAppended_reportsSuccessAtOnce
        case stage_thenCommit_ofTwoPartitionsInOneBatch_makesBothVisible
        case storeRead_returnsCommittedRecordsOnly
        case storeRead_beforeRetention_throwsTruncated
        case stage_prunableMark_isReadBackAndChained
        case prune_dropsPayloadsButKeepsHashesAndChain
        case prune_ofPrunedRecord_changesNothing
        case prune_tail_thenReopen_verifiesAndContinuesChain
        case prune_afterTruncate_atFirstOffset_verifiesAgainstAnchor
        case storeRead_returnsPrunedRecordsWithoutPayload
        case hashBeforeFirstOffset_isGenesis_thenTheLastRemovedRecordsHash

        var testDescription: String { rawValue }
    }

    func run(_ behaviour: Behaviour) throws {
        switch behaviour {
        case .emptyLog_startsAtOffsetOneWithGenesisHash: try emptyLog_startsAtOffsetOneWithGenesisHash()
        case .whenDurable_afterDurableAppend_reportsSuccess: try whenDurable_afterDurableAppend_reportsSuccess()
        case .whenDurable_withNothingAppended_reportsSuccessAtOnce: try whenDurable_withNothingAppended_reportsSuccessAtOnce()
        case .stage_thenCommit_ofTwoPartitionsInOneBatch_makesBothVisible: try stage_thenCommit_ofTwoPartitionsInOneBatch_makesBothVisible()
        case .storeRead_returnsCommittedRecordsOnly: try storeRead_returnsCommittedRecordsOnly()
        case .storeRead_beforeRetention_throwsTruncated: try storeRead_beforeRetention_throwsTruncated()
        case .append_returnsContiguousOffsetsStartingAtNextOffset: try append_returnsContiguousOffsetsStartingAtNextOffset()
        case .append_noPayloads_returnsEmptyRangeAndKeepsTail: try append_noPayloads_returnsEmptyRangeAndKeepsTail()
        case .read_returnsPayloadsInOrderWithTheirOffsets: try read_returnsPayloadsInOrderWithTheirOffsets()
        case .read_respectsLimit: try read_respectsLimit()
        case .read_atOrPastEnd_returnsNothing: try read_atOrPastEnd_returnsNothing()
        case .append_withStateWrites_makesRecordsAndStateVisibleTogether: try append_withStateWrites_makesRecordsAndStateVisibleTogether()
        case .append_withStateWrites_unsynced_survivesDatabaseReopenTogether: try append_withStateWrites_unsynced_survivesDatabaseReopenTogether()
        case .entries_chainHashesFromGenesis: try entries_chainHashesFromGenesis()
        case .append_thenNewInstanceOnSameDatabase_keepsTailAndChain: try append_thenNewInstanceOnSameDatabase_keepsTailAndChain()
        case .append_thenReopenedDatabase_keepsTailAndChain: try append_thenReopenedDatabase_keepsTailAndChain()
        case .partitions_inOneDatabase_areIndependent: try partitions_inOneDatabase_areIndependent()
        case .truncate_removesOldRecordsAndMovesFirstOffset: try truncate_removesOldRecordsAndMovesFirstOffset()
        case .truncate_atOrBeforeFirstOffset_changesNothing: try truncate_atOrBeforeFirstOffset_changesNothing()
        case .truncate_beyondNextOffset_keepsTail: try truncate_beyondNextOffset_keepsTail()
        case .truncate_thenAppend_continuesChain: try truncate_thenAppend_continuesChain()
        case .truncate_thenReopen_keepsFirstOffsetTailAndAnchor: try truncate_thenReopen_keepsFirstOffsetTailAndAnchor()
        case .truncate_twice_thenReopen_verifiesFromNewFirstOffset: try truncate_twice_thenReopen_verifiesFromNewFirstOffset()
        case .truncate_everything_thenReopen_keepsNextOffsetAndLastHash: try truncate_everything_thenReopen_keepsNextOffsetAndLastHash()
        case .stage_prunableMark_isReadBackAndChained: try stage_prunableMark_isReadBackAndChained()
        case .prune_dropsPayloadsButKeepsHashesAndChain: try prune_dropsPayloadsButKeepsHashesAndChain()
        case .prune_ofPrunedRecord_changesNothing: try prune_ofPrunedRecord_changesNothing()
        case .prune_tail_thenReopen_verifiesAndContinuesChain: try prune_tail_thenReopen_verifiesAndContinuesChain()
        case .prune_afterTruncate_atFirstOffset_verifiesAgainstAnchor: try prune_afterTruncate_atFirstOffset_verifiesAgainstAnchor()
        case .storeRead_returnsPrunedRecordsWithoutPayload: try storeRead_returnsPrunedRecordsWithoutPayload()
        case .hashBeforeFirstOffset_isGenesis_thenTheLastRemovedRecordsHash: try hashBeforeFirstOffset_isGenesis_thenTheLastRemovedRecordsHash()
        }
    }

    // MARK: - Empty log and appends

    func emptyLog_startsAtOffsetOneWithGenesisHash() throws {
        try withLog { store, log throws in
            #expect(log.partition == partition)
            #expect(log.nextOffset == 1)
            #expect(log.firstOffset == 1)
            #expect(log.lastHash == HashChain.genesis(partition: partition))
            #expect(log.lastHash.count == HashChain.hashBytes)
            #expect(try log.read(from: 1, limit: 10).isEmpty)
        }
    }

    func append_returnsContiguousOffsetsStartingAtNextOffset() throws {
        try withLog { store, log throws in
            #expect(try store.logStore.append(to: log, [payload(1), payload(2), payload(3)], with: WriteBatch(), durable: true) == 1..<4)
            #expect(log.nextOffset == 4)
            #expect(try store.logStore.append(to: log, [payload(4)], with: WriteBatch(), durable: false) == 4..<5)
            #expect(try store.logStore.append(to: log, [payload(5), payload(6)], with: WriteBatch(), durable: true) == 5..<7)
            #expect(log.nextOffset == 7)
            #expect(log.firstOffset == 1)
            #expect(try log.read(from: 1, limit: 100).map(\.offset) == Array(1...6))
        }
    }

    func append_noPayloads_returnsEmptyRangeAndKeepsTail() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, [payload(1), payload(2)], with: WriteBatch(), durable: true)
            let tail = log.lastHash
            let range = try store.logStore.append(to: log, [], with: WriteBatch(), durable: true)
            #expect(range.isEmpty)
            #expect(range.lowerBound == 3)
            #expect(log.nextOffset == 3)
            #expect(log.lastHash == tail)
            #expect(try store.logStore.append(to: log, [payload(3)], with: WriteBatch(), durable: true) == 3..<4)
        }
    }

    // MARK: - Reads

    func read_returnsPayloadsInOrderWithTheirOffsets() throws {
        try withLog { store, log throws in
            let big = [UInt8]((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let binary: [UInt8] = [0, 0xFF, 0, 1, 0x80]
            let payloads = [payload(1), [], big, binary] + (5...12).map { payload($0) }
            // Several appends, read back in one call.
            try store.logStore.append(to: log, Array(payloads[0..<3]), with: WriteBatch(), durable: true)
            try store.logStore.append(to: log, [payloads[3]], with: WriteBatch(), durable: true)
            try store.logStore.append(to: log, Array(payloads[4...]), with: WriteBatch(), durable: false)
            let entries = try log.read(from: 1, limit: 100)
            #expect(entries.map(\.offset) == Array(1...UInt64(payloads.count)))
            #expect(entries.map(\.payload) == payloads)
            // From the middle.
            let middle = try log.read(from: 4, limit: 100)
            #expect(middle.map(\.offset) == Array(4...UInt64(payloads.count)))
            #expect(middle.map(\.payload) == Array(payloads[3...]))
            // The same entries as the full read, hashes included.
            #expect(middle == Array(entries[3...]))
        }
    }

    func read_respectsLimit() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...10).map { payload($0) }, with: WriteBatch(), durable: true)
            #expect(try log.read(from: 1, limit: 1).map(\.offset) == [1])
            #expect(try log.read(from: 1, limit: 3).map(\.offset) == [1, 2, 3])
            #expect(try log.read(from: 4, limit: 3).map(\.payload) == [payload(4), payload(5), payload(6)])
            #expect(try log.read(from: 8, limit: 3).map(\.offset) == [8, 9, 10])
            #expect(try log.read(from: 9, limit: 3).map(\.offset) == [9, 10])
            #expect(try log.read(from: 10, limit: 1).map(\.offset) == [10])
            // Paging with the limit visits every record once, in order.
            var paged: [Offset] = []
            var next: Offset = 1
            for _ in 0..<10 {
                let page = try log.read(from: next, limit: 4)
                guard let last = page.last else { break }
                #expect(page.count <= 4)
                paged += page.map(\.offset)
                next = last.offset + 1
            }
            #expect(paged == Array(1...10))
        }
    }

    func read_atOrPastEnd_returnsNothing() throws {
        try withLog { store, log throws in
            #expect(try log.read(from: 1, limit: 5).isEmpty)
            #expect(try log.read(from: 7, limit: 5).isEmpty)
            try store.logStore.append(to: log, [payload(1), payload(2)], with: WriteBatch(), durable: true)
            #expect(try log.read(from: 3, limit: 5).isEmpty)
            #expect(try log.read(from: 4, limit: 5).isEmpty)
            #expect(try log.read(from: 1_000_000, limit: 5).isEmpty)
            #expect(try log.read(from: .max, limit: 5).isEmpty)
        }
    }

    // MARK: - State writes

    func append_withStateWrites_makesRecordsAndStateVisibleTogether() throws {
        try withLog { store, log throws in
            let db = store.database
            let state = db.columnFamily(stateFamily)
            try store.logStore.append(to: log, [payload(1)], with: WriteBatch(), durable: true)

            let writes = WriteBatch()
            writes.put(state, key: bytes("applied"), value: bytes("through 3"))
            writes.put(state, key: bytes("k"), value: bytes("v"))
            // Prepared but not appended: neither the state nor the records exist.
            #expect(try db.get(state, key: bytes("applied")) == nil)
            #expect(try log.read(from: 2, limit: 10).isEmpty)

            try db.withSnapshot { before throws in
                #expect(try store.logStore.append(to: log, [payload(2), payload(3)], with: writes, durable: true) == 2..<4)
                // A view from before the append holds neither part.
                #expect(try db.get(state, key: bytes("applied"), snapshot: before) == nil)
                #expect(try db.get(state, key: bytes("k"), snapshot: before) == nil)
            }
            // After it, both parts.
            #expect(try db.get(state, key: bytes("applied")) == bytes("through 3"))
            #expect(try db.get(state, key: bytes("k")) == bytes("v"))
            #expect(try log.read(from: 2, limit: 10).map(\.payload) == [payload(2), payload(3)])

            // And still both parts after a restart on the reopened database.
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(reopened.nextOffset == 4)
            #expect(try reopened.read(from: 1, limit: 10).map(\.payload) == [payload(1), payload(2), payload(3)])
            #expect(try store.database.get(store.database.columnFamily(stateFamily), key: bytes("applied")) == bytes("through 3"))
        }
    }

    func append_withStateWrites_unsynced_survivesDatabaseReopenTogether() throws {
        try withLog { store, log throws in
            for group in 0..<5 {
                let writes = WriteBatch()
                writes.put(store.database.columnFamily(stateFamily), key: bytes("group \(group)"), value: bytes("\(group)"))
                try store.logStore.append(to: log, [payload(group * 2 + 1), payload(group * 2 + 2)], with: writes, durable: false)
            }
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            let state = store.database.columnFamily(stateFamily)
            let entries = try reopened.read(from: 1, limit: 100)
            // Each group's state write is present exactly when its records are.
            for group in 0..<5 {
                let recordsPresent = entries.contains { $0.offset == UInt64(group * 2 + 2) }
                let statePresent = try store.database.get(state, key: bytes("group \(group)")) != nil
                #expect(recordsPresent == statePresent, "group \(group)")
            }
            // A clean close loses nothing.
            #expect(entries.count == 10)
            #expect(reopened.nextOffset == 11)
        }
    }

    // MARK: - Hash chain

    func entries_chainHashesFromGenesis() throws {
        try withLog { store, log throws in
            let genesis = HashChain.genesis(partition: partition)
            let first = try store.logStore.append(to: log, [payload(1)], with: WriteBatch(), durable: true)
            #expect(first == 1..<2)
            #expect(log.lastHash == HashChain.link(previous: genesis, offset: 1, payload: payload(1), prunable: false))
            try store.logStore.append(to: log, (2...6).map { payload($0) }, with: WriteBatch(), durable: true)
            let entries = try log.read(from: 1, limit: 100)
            #expect(entries.count == 6)
            #expect(entries.map(\.hash) == expectedHashes(of: entries, after: genesis))
            #expect(entries.allSatisfy { $0.hash.count == HashChain.hashBytes })
            #expect(log.lastHash == entries.last?.hash)
            // Same payload at a different offset gives a different hash.
            try store.logStore.append(to: log, [payload(1)], with: WriteBatch(), durable: true)
            let again = try #require(try log.read(from: 7, limit: 1).first)
            #expect(again.payload == entries[0].payload)
            #expect(again.hash != entries[0].hash)
            #expect(again.hash == HashChain.link(previous: entries[5].hash, offset: 7, payload: payload(1), prunable: false))
            // A read starting mid-log links its first entry to the stored previous one.
            let tail = try log.read(from: 4, limit: 100)
            #expect(tail.map(\.hash) == expectedHashes(of: tail, after: entries[2].hash))
        }
    }

    // MARK: - Restart

    func append_thenNewInstanceOnSameDatabase_keepsTailAndChain() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...5).map { payload($0) }, with: WriteBatch(), durable: true)
            let tail = log.lastHash
            let reopened = try makeLog(store, partition)
            #expect(reopened.nextOffset == 6)
            #expect(reopened.firstOffset == 1)
            #expect(reopened.lastHash == tail)
            #expect(try reopened.read(from: 1, limit: 10) == (try log.read(from: 1, limit: 10)))
            // Appending continues the chain where the old instance stopped.
            #expect(try store.logStore.append(to: reopened, [payload(6)], with: WriteBatch(), durable: true) == 6..<7)
            #expect(reopened.lastHash == HashChain.link(previous: tail, offset: 6, payload: payload(6), prunable: false))
            let entries = try reopened.read(from: 1, limit: 10)
            #expect(entries.map(\.hash) == expectedHashes(of: entries, after: HashChain.genesis(partition: partition)))
        }
    }

    func append_thenReopenedDatabase_keepsTailAndChain() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...3).map { payload($0) }, with: WriteBatch(), durable: true)
            try store.logStore.append(to: log, (4...7).map { payload($0) }, with: WriteBatch(), durable: false)
            let tail = log.lastHash
            let before = try log.read(from: 1, limit: 10)
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(reopened.partition == partition)
            #expect(reopened.nextOffset == 8)
            #expect(reopened.firstOffset == 1)
            #expect(reopened.lastHash == tail)
            #expect(try reopened.read(from: 1, limit: 10) == before)
            try store.logStore.append(to: reopened, [payload(8)], with: WriteBatch(), durable: true)
            // And once more, so the second restart also sees the appended record.
            try store.reopenDatabase()
            let again = try makeLog(store, partition)
            #expect(again.nextOffset == 9)
            #expect(again.lastHash == HashChain.link(previous: tail, offset: 8, payload: payload(8), prunable: false))
        }
    }

    // MARK: - Partitions

    func partitions_inOneDatabase_areIndependent() throws {
        try withStore { store throws in
            let p = partition, q = partition + 1, r = partition + 2
            #expect(HashChain.genesis(partition: p) != HashChain.genesis(partition: q))
            let logP = try makeLog(store, p)
            let logQ = try makeLog(store, q)
            let logR = try makeLog(store, r)
            #expect(logQ.lastHash == HashChain.genesis(partition: q))
            // Interleaved appends; the same payload goes to both partitions first.
            #expect(try store.logStore.append(to: logP, [bytes("same")], with: WriteBatch(), durable: true) == 1..<2)
            #expect(try store.logStore.append(to: logQ, [bytes("same")], with: WriteBatch(), durable: true) == 1..<2)
            #expect(try store.logStore.append(to: logP, [payload(2, partition: p), payload(3, partition: p)], with: WriteBatch(), durable: true) == 2..<4)
            #expect(try store.logStore.append(to: logQ, [payload(2, partition: q)], with: WriteBatch(), durable: true) == 2..<3)
            #expect(logP.nextOffset == 4)
            #expect(logQ.nextOffset == 3)
            #expect(logP.lastHash != logQ.lastHash)

            let entriesP = try logP.read(from: 1, limit: 10)
            let entriesQ = try logQ.read(from: 1, limit: 10)
            #expect(entriesP.map(\.payload) == [bytes("same"), payload(2, partition: p), payload(3, partition: p)])
            #expect(entriesQ.map(\.payload) == [bytes("same"), payload(2, partition: q)])
            #expect(entriesP[0].hash != entriesQ[0].hash)
            #expect(entriesP.map(\.hash) == expectedHashes(of: entriesP, after: HashChain.genesis(partition: p)))
            #expect(entriesQ.map(\.hash) == expectedHashes(of: entriesQ, after: HashChain.genesis(partition: q)))
            // The untouched neighbour stays empty, also after a restart.
            #expect(logR.nextOffset == 1)
            #expect(try logR.read(from: 1, limit: 10).isEmpty)

            // Truncating one partition leaves the other alone.
            try logP.truncate(before: 3)
            #expect(logQ.firstOffset == 1)
            #expect(try logQ.read(from: 1, limit: 10) == entriesQ)

            try store.reopenDatabase()
            let reP = try makeLog(store, p)
            let reQ = try makeLog(store, q)
            let reR = try makeLog(store, r)
            #expect(reP.nextOffset == 4)
            #expect(reP.firstOffset == 3)
            #expect(reP.lastHash == entriesP[2].hash)
            #expect(reQ.nextOffset == 3)
            #expect(reQ.firstOffset == 1)
            #expect(reQ.lastHash == entriesQ[1].hash)
            #expect(reR.nextOffset == 1)
            #expect(reR.lastHash == HashChain.genesis(partition: r))
            #expect(try reQ.read(from: 1, limit: 10) == entriesQ)
        }
    }

    // MARK: - Truncation

    func truncate_removesOldRecordsAndMovesFirstOffset() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...10).map { payload($0) }, with: WriteBatch(), durable: true)
            let all = try log.read(from: 1, limit: 100)
            let tail = log.lastHash
            try log.truncate(before: 5)
            #expect(log.firstOffset == 5)
            #expect(log.nextOffset == 11)
            #expect(log.lastHash == tail)
            for offset: Offset in [0, 1, 4] {
                #expect(throws: LogError.truncated(partition: partition, requested: offset, firstRetained: 5)) {
                    try log.read(from: offset, limit: 10)
                }
            }
            // The first kept record still verifies (its link to the removed record 4 is anchored).
            let kept = try log.read(from: 5, limit: 100)
            #expect(kept == Array(all[4...]))
            #expect(try log.read(from: 5, limit: 1).map(\.offset) == [5])
            #expect(try log.read(from: 7, limit: 100) == Array(all[6...]))
        }
    }

    func truncate_atOrBeforeFirstOffset_changesNothing() throws {
        try withLog { store, log throws in
            try log.truncate(before: 1)
            try log.truncate(before: 5)  // empty log: nothing to remove
            #expect(log.firstOffset == 1)
            #expect(log.nextOffset == 1)
            try store.logStore.append(to: log, (1...6).map { payload($0) }, with: WriteBatch(), durable: true)
            try log.truncate(before: 0)
            try log.truncate(before: 1)
            #expect(log.firstOffset == 1)
            #expect(try log.read(from: 1, limit: 10).count == 6)
            try log.truncate(before: 4)
            try log.truncate(before: 3)
            try log.truncate(before: 4)
            #expect(log.firstOffset == 4)
            #expect(try log.read(from: 4, limit: 10).map(\.payload) == (4...6).map { payload($0) })
        }
    }

    func truncate_beyondNextOffset_keepsTail() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...4).map { payload($0) }, with: WriteBatch(), durable: true)
            let tail = log.lastHash
            try log.truncate(before: 100)
            #expect(log.nextOffset == 5)
            #expect(log.lastHash == tail)
            #expect(log.firstOffset <= 5)
            #expect(try log.read(from: 5, limit: 10).isEmpty)
            #expect(try store.logStore.append(to: log, [payload(5)], with: WriteBatch(), durable: true) == 5..<6)
            #expect(log.lastHash == HashChain.link(previous: tail, offset: 5, payload: payload(5), prunable: false))
            #expect(try log.read(from: 5, limit: 10).map(\.payload) == [payload(5)])
        }
    }

    func truncate_thenAppend_continuesChain() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...6).map { payload($0) }, with: WriteBatch(), durable: true)
            let sixth = log.lastHash
            try log.truncate(before: 4)
            #expect(try store.logStore.append(to: log, [payload(7), payload(8)], with: WriteBatch(), durable: true) == 7..<9)
            let entries = try log.read(from: 4, limit: 100)
            #expect(entries.map(\.offset) == [4, 5, 6, 7, 8])
            #expect(entries[2].hash == sixth)
            #expect(Array(entries[3...]).map(\.hash) == expectedHashes(of: Array(entries[3...]), after: sixth))
        }
    }

    func truncate_thenReopen_keepsFirstOffsetTailAndAnchor() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...10).map { payload($0) }, with: WriteBatch(), durable: true)
            let all = try log.read(from: 1, limit: 100)
            try log.truncate(before: 6)
            // New instance on the same database.
            let same = try makeLog(store, partition)
            #expect(same.firstOffset == 6)
            #expect(same.nextOffset == 11)
            #expect(same.lastHash == all[9].hash)
            #expect(try same.read(from: 6, limit: 100) == Array(all[5...]))
            // After a database restart.
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(reopened.firstOffset == 6)
            #expect(reopened.nextOffset == 11)
            #expect(reopened.lastHash == all[9].hash)
            #expect(try reopened.read(from: 6, limit: 100) == Array(all[5...]))
            #expect(throws: LogError.truncated(partition: partition, requested: 5, firstRetained: 6)) {
                try reopened.read(from: 5, limit: 10)
            }
            #expect(try store.logStore.append(to: reopened, [payload(11)], with: WriteBatch(), durable: true) == 11..<12)
            #expect(reopened.lastHash == HashChain.link(previous: all[9].hash, offset: 11, payload: payload(11), prunable: false))
        }
    }

    func truncate_twice_thenReopen_verifiesFromNewFirstOffset() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...12).map { payload($0) }, with: WriteBatch(), durable: true)
            let all = try log.read(from: 1, limit: 100)
            try log.truncate(before: 4)
            try log.truncate(before: 9)
            #expect(log.firstOffset == 9)
            #expect(try log.read(from: 9, limit: 100) == Array(all[8...]))
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(reopened.firstOffset == 9)
            #expect(reopened.nextOffset == 13)
            #expect(try reopened.read(from: 9, limit: 100) == Array(all[8...]))
            // Truncating down to the single tail record keeps it verifiable after a restart.
            try reopened.truncate(before: 12)
            try store.reopenDatabase()
            let single = try makeLog(store, partition)
            #expect(single.firstOffset == 12)
            #expect(single.nextOffset == 13)
            #expect(single.lastHash == all[11].hash)
            #expect(try single.read(from: 12, limit: 10) == [all[11]])
        }
    }

    /// Retention may remove every record (truncate before `nextOffset`); the log must still
    /// continue at the same offset and chain after a restart, or offsets would be reused.
    func truncate_everything_thenReopen_keepsNextOffsetAndLastHash() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...5).map { payload($0) }, with: WriteBatch(), durable: true)
            let tail = log.lastHash
            try log.truncate(before: log.nextOffset)
            #expect(log.firstOffset == 6)
            #expect(log.nextOffset == 6)
            #expect(log.lastHash == tail)
            #expect(try log.read(from: 6, limit: 10).isEmpty)

            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(reopened.nextOffset == 6)
            #expect(reopened.firstOffset == 6)
            #expect(reopened.lastHash == tail)
            #expect(try store.logStore.append(to: reopened, [payload(6)], with: WriteBatch(), durable: true) == 6..<7)
            #expect(reopened.lastHash == HashChain.link(previous: tail, offset: 6, payload: payload(6), prunable: false))
        }
    }

    // MARK: - Reading through the store (other threads than the operator's)

    func storeRead_returnsCommittedRecordsOnly() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...6).map { payload($0) }, with: WriteBatch(), durable: true)
            // Staged but not committed: invisible to readers.
            _ = log.stage([payload(7)], into: WriteBatch())
            let reader = store.logStore
            #expect(try reader.read(partition: partition, from: 1, limit: 100) == Array(try log.read(from: 1, limit: 6)))
            #expect(try reader.read(partition: partition, from: 3, limit: 2).map(\.offset) == [3, 4])
            #expect(try reader.read(partition: partition, from: 7, limit: 10).isEmpty)
            #expect(try reader.read(partition: partition + 1, from: 1, limit: 10).isEmpty)
        }
    }

    func storeRead_beforeRetention_throwsTruncated() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, (1...10).map { payload($0) }, with: WriteBatch(), durable: true)
            let all = try log.read(from: 1, limit: 100)
            try log.truncate(before: 5)
            #expect(throws: LogError.truncated(partition: partition, requested: 4, firstRetained: 5)) {
                try store.logStore.read(partition: partition, from: 4, limit: 10)
            }
            #expect(try store.logStore.read(partition: partition, from: 5, limit: 100) == Array(all[4...]))
        }
    }

    // MARK: - Pruning

    /// Records 1…`count`, those in `prunable` staged as prunable.
    private func stagedRecords(_ count: Int, prunable: Set<Int>) -> [StagedRecord] {
        (1...count).map { StagedRecord(payload($0), prunable: prunable.contains($0)) }
    }

    /// Prunes `offsets` in one committed batch and returns how many the log said it pruned.
    private func prune(_ store: LogTestStore, _ log: any PartitionLog, _ offsets: [Offset]) throws -> Int {
        let batch = WriteBatch()
        let pruned = try log.prune(offsets, into: batch)
        _ = try store.logStore.commit(batch, durable: true)
        return pruned
    }

    func stage_prunableMark_isReadBackAndChained() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, records: stagedRecords(5, prunable: [2, 3]), with: WriteBatch(), durable: true)
            let entries = try log.read(from: 1, limit: 10)
            #expect(entries.map(\.prunable) == [false, true, true, false, false])
            #expect(entries.allSatisfy { !$0.isPruned })
            // The mark is part of each hash: the same payloads staged unmarked chain differently.
            #expect(entries.map(\.hash) == expectedHashes(of: entries, after: HashChain.genesis(partition: partition)))
            #expect(entries[1].hash != HashChain.link(previous: entries[0].hash, offset: 2, payload: payload(2), prunable: false))
        }
    }

    func prune_dropsPayloadsButKeepsHashesAndChain() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, records: stagedRecords(6, prunable: [2, 4, 5]), with: WriteBatch(), durable: true)
            let before = try log.read(from: 1, limit: 10)
            // Staged into a batch, pruned only once it is written.
            let batch = WriteBatch()
            #expect(try log.prune([2, 5], into: batch) == 2)
            #expect(try log.read(from: 1, limit: 10) == before)
            _ = try store.logStore.commit(batch, durable: true)
            let after = try log.read(from: 1, limit: 10)
            #expect(after.map(\.offset) == Array(1...6))
            #expect(after.map(\.hash) == before.map(\.hash))
            #expect(after.map(\.isPruned) == [false, true, false, false, true, false])
            #expect(after[1].payload == nil && after[4].payload == nil)
            #expect(after[1].prunable && after[4].prunable)
            #expect(after[3].payload == payload(4), "a prunable record not asked for is kept")
            #expect([0, 2, 3, 5].map { after[$0] } == [0, 2, 3, 5].map { before[$0] })
            // Reads that start at, after and just before a pruned record verify too.
            #expect(try log.read(from: 2, limit: 10) == Array(after[1...]))
            #expect(try log.read(from: 3, limit: 10) == Array(after[2...]))
            #expect(try log.read(from: 6, limit: 1) == [after[5]])
            #expect(log.lastHash == before[5].hash)
        }
    }

    func prune_ofPrunedRecord_changesNothing() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, records: stagedRecords(3, prunable: [1, 2, 3]), with: WriteBatch(), durable: true)
            #expect(try prune(store, log, [2]) == 1)
            let once = try log.read(from: 1, limit: 10)
            #expect(try prune(store, log, [2]) == 0)
            #expect(try prune(store, log, []) == 0)
            #expect(try log.read(from: 1, limit: 10) == once)
            #expect(try prune(store, log, [1, 2, 3]) == 2)
            #expect(try log.read(from: 1, limit: 10).allSatisfy(\.isPruned))
        }
    }

    func prune_tail_thenReopen_verifiesAndContinuesChain() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, records: stagedRecords(4, prunable: [3, 4]), with: WriteBatch(), durable: true)
            let tail = log.lastHash
            #expect(try prune(store, log, [3, 4]) == 2)
            let pruned = try log.read(from: 1, limit: 10)
            // Opening verifies the tail, which is now a stub.
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(reopened.nextOffset == 5)
            #expect(reopened.lastHash == tail)
            #expect(try reopened.read(from: 1, limit: 10) == pruned)
            #expect(try store.logStore.append(to: reopened, [payload(5)], with: WriteBatch(), durable: true) == 5..<6)
            #expect(reopened.lastHash == HashChain.link(previous: tail, offset: 5, payload: payload(5), prunable: false))
            #expect(try reopened.read(from: 4, limit: 10).map(\.offset) == [4, 5])
        }
    }

    func prune_afterTruncate_atFirstOffset_verifiesAgainstAnchor() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, records: stagedRecords(8, prunable: [5, 6]), with: WriteBatch(), durable: true)
            let all = try log.read(from: 1, limit: 10)
            try log.truncate(before: 5)
            #expect(try prune(store, log, [5]) == 1)
            let kept = try log.read(from: 5, limit: 10)
            #expect(kept.map(\.hash) == all[4...].map(\.hash))
            #expect(kept.first?.isPruned == true)
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(try reopened.read(from: 5, limit: 10) == kept)
            // Truncating past a stub works like past any record.
            try reopened.truncate(before: 7)
            #expect(try reopened.read(from: 7, limit: 10) == Array(kept[2...]))
        }
    }

    func storeRead_returnsPrunedRecordsWithoutPayload() throws {
        try withLog { store, log throws in
            try store.logStore.append(to: log, records: stagedRecords(5, prunable: [1, 3]), with: WriteBatch(), durable: true)
            #expect(try prune(store, log, [1, 3]) == 2)
            let read = try store.logStore.read(partition: partition, from: 1, limit: 10)
            #expect(read == (try log.read(from: 1, limit: 10)))
            #expect(read.map(\.isPruned) == [true, false, true, false, false])
            // Starting right after a stub links to the stub's hash.
            #expect(try store.logStore.read(partition: partition, from: 2, limit: 10) == Array(read[1...]))
            #expect(try store.logStore.read(partition: partition, from: 4, limit: 10) == Array(read[3...]))
        }
    }

    func hashBeforeFirstOffset_isGenesis_thenTheLastRemovedRecordsHash() throws {
        try withLog { store, log throws in
            #expect(try log.hashBeforeFirstOffset() == HashChain.genesis(partition: partition))
            try store.logStore.append(to: log, (1...8).map { payload($0) }, with: WriteBatch(), durable: true)
            let all = try log.read(from: 1, limit: 10)
            #expect(try log.hashBeforeFirstOffset() == HashChain.genesis(partition: partition))
            try log.truncate(before: 5)
            #expect(try log.hashBeforeFirstOffset() == all[3].hash)
            try store.reopenDatabase()
            let reopened = try makeLog(store, partition)
            #expect(try reopened.hashBeforeFirstOffset() == all[3].hash)
            try reopened.truncate(before: reopened.nextOffset)
            #expect(try reopened.hashBeforeFirstOffset() == all[7].hash)
            #expect(try reopened.hashBeforeFirstOffset() == reopened.lastHash)
        }
    }

    // MARK: - Helpers

    /// A fresh database and nothing else.
    private func withStore(_ body: (LogTestStore) throws -> Void) throws {
        try withLogStore(columnFamilies: columnFamilies, body)
    }

    /// A fresh database and a log of `partition` on it.
    private func withLog(_ body: (LogTestStore, any PartitionLog) throws -> Void) throws {
        try withStore { store throws in
            let log = try makeLog(store, partition)
            try body(store, log)
        }
    }

    // MARK: Durability

    /// Waits (bounded) for `whenDurable` to answer.
    private func durability(of store: LogTestStore) -> Result<Void, any Error>? {
        let answered = DispatchSemaphore(value: 0)
        let box = ResultBox()
        store.logStore.whenAllDurable { result in
            box.set(result)
            answered.signal()
        }
        guard answered.wait(timeout: .now() + 10) == .success else { return nil }
        return box.get()
    }

    func whenDurable_afterDurableAppend_reportsSuccess() throws {
        try withLogStore(columnFamilies: columnFamilies) { store in
            let log = try makeLog(store, partition)
            try store.logStore.append(to: log, [payload(1)], with: WriteBatch(), durable: false)
            try store.logStore.append(to: log, [payload(2)], with: WriteBatch(), durable: true)
            let result = try #require(durability(of: store), "whenDurable never answered")
            #expect(throws: Never.self) { try result.get() }
        }
    }

    func stage_thenCommit_ofTwoPartitionsInOneBatch_makesBothVisible() throws {
        try withLogStore(columnFamilies: columnFamilies) { store in
            let first = try makeLog(store, partition)
            let second = try makeLog(store, partition + 1)
            let batch = WriteBatch()
            #expect(first.stage([payload(1), payload(2)], into: batch) == 1..<3)
            #expect(second.stage([payload(1, partition: partition + 1)], into: batch) == 1..<2)
            _ = try store.logStore.commit(batch, durable: true)
            #expect(try first.read(from: 1, limit: 10).map(\.payload) == [payload(1), payload(2)])
            #expect(try second.read(from: 1, limit: 10).map(\.payload) == [payload(1, partition: partition + 1)])
        }
    }

    func whenDurable_withNothingAppended_reportsSuccessAtOnce() throws {
        try withLogStore(columnFamilies: columnFamilies) { store in
            _ = try makeLog(store, partition)
            let result = try #require(durability(of: store), "whenDurable never answered")
            #expect(throws: Never.self) { try result.get() }
        }
    }
}

/// Carries a callback's result across threads for `durability(of:)`.
private final class ResultBox: @unchecked Sendable {
    // Why unchecked: written once before the semaphore is signalled, read after waiting on it.
    private var result: Result<Void, any Error>?
    func set(_ value: Result<Void, any Error>) { result = value }
    func get() -> Result<Void, any Error>? { result }
}
