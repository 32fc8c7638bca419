public import EddyStorage

/// The first `PartitionLog`: records live in the `log` column family of the same RocksDB
/// database as the partition's state, so a group's records and its state writes go in one
/// atomic write batch with one WAL sync.
///
/// Why a column family rather than segment files: one atomic batch covers log and state,
/// one fsync serves both, and RocksDB already gives checksummed blocks, crash recovery of
/// its WAL and compaction when retention deletes old records. Segment files would need
/// their own fsync, recovery scan and coordination with the state store.
///
/// Key: partition (2 bytes) + offset (8 bytes), big-endian, so records iterate in order.
/// Value: format byte, record hash (32 bytes), then flags and the payload, or for a pruned
/// record flags and the payload's digest (`EmbeddedLogRecord`).
/// Offset 0 holds the truncation anchor once retention has removed records: the offset and
/// hash of the last removed record, so the first kept record can still be verified and, if
/// every record was removed, the log still continues from where it was.
public final class EmbeddedLog: PartitionLog {
    public static let columnFamily = "log"
    /// The format of the truncation anchor's value.
    static let anchorFormat: UInt8 = 1

    public let partition: Int
    public private(set) var nextOffset: Offset
    public private(set) var firstOffset: Offset
    public private(set) var lastHash: [UInt8]

    private let database: Database
    private let family: ColumnFamily

    /// Opens the log of `partition` and recovers its tail. The tail record's hash is
    /// verified here, so a damaged end of log is reported before anything is served.
    init(database: Database, partition: Int) throws {
        self.database = database
        self.partition = partition
        family = database.columnFamily(Self.columnFamily)
        let genesis = HashChain.genesis(partition: partition)
        let anchor = try Self.readAnchor(database, family, partition: partition)
        let first = try database.scanFirstKey(family, from: Self.key(partition, 1), to: Self.key(partition + 1, 0))
        guard let tail = try database.last(family, from: Self.key(partition, 1), to: Self.key(partition + 1, 0)) else {
            // Empty: either never written, or retention removed every record.
            nextOffset = (anchor?.offset ?? 0) + 1
            firstOffset = nextOffset
            lastHash = anchor?.hash ?? genesis
            return
        }
        let tailOffset = Self.offset(fromKey: tail.key)
        let firstKeyOffset = first.map(Self.offset(fromKey:)) ?? tailOffset
        firstOffset = firstKeyOffset
        nextOffset = tailOffset + 1
        lastHash = genesis
        let tailRecord = try EmbeddedLogRecord(decoding: tail.value, partition: partition, offset: tailOffset)
        let previousHash: [UInt8]
        if tailOffset == 1 {
            previousHash = genesis
        } else if tailOffset > firstKeyOffset {
            previousHash = try readOne(tailOffset - 1).hash
        } else if let anchor, anchor.offset == tailOffset - 1 {
            previousHash = anchor.hash
        } else {
            throw LogError.corrupt(partition: partition, offset: tailOffset, reason: "records before it are missing and no truncation anchor is stored")
        }
        guard tailRecord.expectedHash(previous: previousHash) == tailRecord.hash else {
            throw LogError.corrupt(partition: partition, offset: tailOffset, reason: "hash does not match contents and chain")
        }
        lastHash = tailRecord.hash
    }

    public func stage(_ records: [StagedRecord], into batch: WriteBatch) -> Range<Offset> {
        let start = nextOffset
        var hash = lastHash
        var offset = start
        for record in records {
            hash = HashChain.link(previous: hash, offset: offset, payload: record.payload, prunable: record.prunable)
            batch.put(family, key: Self.key(partition, offset), value: EmbeddedLogRecord.encode(record, hash: hash))
            offset += 1
        }
        nextOffset = offset
        lastHash = hash
        return start..<offset
    }

    public func read(from offset: Offset, limit: Int) throws -> [LogEntry] {
        precondition(limit > 0, "read limit must be positive")
        guard offset >= firstOffset else {
            throw LogError.truncated(partition: partition, requested: offset, firstRetained: firstOffset)
        }
        guard offset < nextOffset else { return [] }
        let entries = try Self.scanVerified(database, family, partition: partition, from: offset, previousHash: try hash(before: offset), limit: min(limit, Int(clamping: nextOffset - offset)))
        guard entries.count == min(limit, Int(clamping: nextOffset - offset)) else {
            throw LogError.corrupt(partition: partition, offset: offset + UInt64(entries.count), reason: "record is missing")
        }
        return entries
    }

    /// The committed records of `partition` from `offset` on, for readers on other threads than
    /// the appending operator's (subscription catch-up). It knows no tail, so it returns what
    /// is committed, up to `limit`.
    static func readCommitted(_ database: Database, partition: Int, from offset: Offset, limit: Int) throws -> [LogEntry] {
        precondition(limit > 0 && offset > 0, "read limit and offset must be positive")
        let family = database.columnFamily(columnFamily)
        let anchor = try readAnchor(database, family, partition: partition)
        if let anchor, offset <= anchor.offset {
            throw LogError.truncated(partition: partition, requested: offset, firstRetained: anchor.offset + 1)
        }
        let previousHash: [UInt8]
        if offset == 1 {
            previousHash = HashChain.genesis(partition: partition)
        } else if let anchor, anchor.offset == offset - 1 {
            previousHash = anchor.hash
        } else if let value = try database.get(family, key: key(partition, offset - 1)) {
            previousHash = try EmbeddedLogRecord(decoding: value, partition: partition, offset: offset - 1).hash
        } else if let moved = try readAnchor(database, family, partition: partition), offset <= moved.offset {
            // Retention removed the record while we looked.
            throw LogError.truncated(partition: partition, requested: offset, firstRetained: moved.offset + 1)
        } else {
            return []  // `offset - 1` is not committed yet, so neither is `offset`.
        }
        return try scanVerified(database, family, partition: partition, from: offset, previousHash: previousHash, limit: limit)
    }

    /// Up to `limit` consecutive records from `offset`, each checked against its hash and its
    /// link to the one before; stops early at the end of what is stored.
    private static func scanVerified(_ database: Database, _ family: ColumnFamily, partition: Int, from offset: Offset,
                                     previousHash: [UInt8], limit: Int) throws -> [LogEntry] {
        var previousHash = previousHash
        var entries: [LogEntry] = []
        var expectedOffset = offset
        var failure: LogError? = nil
        try database.scan(family, from: key(partition, offset), to: key(partition + 1, 0)) { key, value in
            let found = Self.offset(fromKey: Array(key))
            guard found == expectedOffset else {
                failure = .corrupt(partition: partition, offset: expectedOffset, reason: "record is missing (next present is \(found))")
                return false
            }
            let record = try EmbeddedLogRecord(decoding: Array(value), partition: partition, offset: found)
            guard record.expectedHash(previous: previousHash) == record.hash else {
                failure = .corrupt(partition: partition, offset: found, reason: "hash does not match contents and chain")
                return false
            }
            entries.append(record.entry)
            previousHash = record.hash
            expectedOffset += 1
            return entries.count < limit
        }
        if let failure { throw failure }
        return entries
    }

    public func truncate(before offset: Offset) throws {
        let end = min(offset, nextOffset)
        guard end > firstOffset else { return }
        let anchorHash = try readOne(end - 1).hash
        let batch = WriteBatch()
        batch.deleteRange(family, from: Self.key(partition, 1), to: Self.key(partition, end))
        var anchor = BinaryWriter(capacity: 41)
        anchor.write(Self.anchorFormat)
        anchor.writeRaw(anchorHash)
        anchor.write(end - 1)
        batch.put(family, key: Self.key(partition, 0), value: anchor.bytes)
        // Not synced: losing a truncation in a crash only means it is done again.
        try database.write(batch, sync: false)
        firstOffset = end
    }

    public func prune(_ offsets: [Offset], into batch: WriteBatch) throws -> Int {
        var pruned = 0
        for offset in offsets {
            precondition(offset >= firstOffset && offset < nextOffset, "offset \(offset) is not retained in partition \(partition)")
            // Verified before it is replaced: a damaged record is reported, never made into a
            // stub whose digest would vouch for the damage.
            let record = try readOne(offset)
            guard record.expectedHash(previous: try hash(before: offset)) == record.hash else {
                throw LogError.corrupt(partition: partition, offset: offset, reason: "hash does not match contents and chain")
            }
            if case .pruned = record.contents { continue }
            batch.put(family, key: Self.key(partition, offset), value: record.prunedValue())
            pruned += 1
        }
        return pruned
    }

    public func hashBeforeFirstOffset() throws -> [UInt8] {
        try hash(before: firstOffset)
    }

    /// The hash the record at `offset` links to.
    private func hash(before offset: Offset) throws -> [UInt8] {
        if offset == 1 { return HashChain.genesis(partition: partition) }
        if offset == firstOffset, let anchor = try Self.readAnchor(database, family, partition: partition), anchor.offset == offset - 1 {
            return anchor.hash
        }
        return try readOne(offset - 1).hash
    }

    /// One record by offset, with its own hash read as stored (the caller links it).
    private func readOne(_ offset: Offset) throws -> EmbeddedLogRecord {
        guard let value = try database.get(family, key: Self.key(partition, offset)) else {
            throw LogError.corrupt(partition: partition, offset: offset, reason: "record is missing")
        }
        return try EmbeddedLogRecord(decoding: value, partition: partition, offset: offset)
    }

    /// The truncation anchor: the last removed record's offset and hash, if any were removed.
    static func readAnchor(_ database: Database, _ family: ColumnFamily, partition: Int) throws -> (offset: Offset, hash: [UInt8])? {
        guard let value = try database.get(family, key: key(partition, 0)) else { return nil }
        var reader = BinaryReader(value)
        guard value.count == 1 + HashChain.hashBytes + 8, (try? reader.readUInt8()) == anchorFormat,
              let hash = try? reader.readRaw(count: HashChain.hashBytes), let offset = try? reader.readUInt64()
        else {
            throw LogError.corrupt(partition: partition, offset: 0, reason: "truncation anchor is damaged")
        }
        return (offset, Array(hash))
    }

    static func key(_ partition: Int, _ offset: Offset) -> [UInt8] {
        var writer = BinaryWriter(capacity: 10)
        writer.write(UInt16(partition))
        writer.write(offset)
        return writer.bytes
    }

    static func offset(fromKey key: [UInt8]) -> Offset {
        var reader = BinaryReader(key, position: 2)
        return (try? reader.readUInt64()) ?? 0
    }
}

extension Database {
    /// The first key in `[start, end)`, or nil.
    fileprivate func scanFirstKey(_ family: ColumnFamily, from start: [UInt8], to end: [UInt8]) throws -> [UInt8]? {
        var first: [UInt8]? = nil
        try scan(family, from: start, to: end) { key, _ in
            first = Array(key)
            return false
        }
        return first
    }
}
