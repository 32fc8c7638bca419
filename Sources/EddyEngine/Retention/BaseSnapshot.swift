import EddyLog
import EddyStorage

/// A partition's base snapshot: the state that the beginning of its log derives, up to an
/// offset, kept in the `base` family with the same keys and values as `state`.
///
/// Why: retention removes the beginning of the log, and without what it derived, the audit
/// could only check the chain of what is left, never re-derive state. Before retention
/// removes records, the operator folds their changes into the base (`fold`), so the audit
/// can start from the base and replay the rest of the log. The base is trusted only as far
/// as it verifies: its summary in `meta` holds an order-independent digest of its contents
/// (`MultisetDigest`), kept current as it is folded, which the audit recomputes; and the hash
/// of its last record, which must be the one the first kept record links to.
enum BaseSnapshot {
    /// What `meta` keeps about a partition's base.
    struct Summary: Equatable {
        static let format: UInt8 = 1

        /// The last record folded in: the base is the state the log derives through it.
        var offset: UInt64
        /// That record's chain hash (the genesis hash while `offset` is 0).
        var recordHash: [UInt8]
        var digest: MultisetDigest

        func encoded() -> [UInt8] {
            var writer = BinaryWriter(capacity: 1 + 8 + HashChain.hashBytes + MultisetDigest.byteCount)
            writer.write(Self.format)
            writer.write(offset)
            writer.writeRaw(recordHash)
            writer.writeRaw(digest.bytes)
            return writer.bytes
        }

        init(offset: UInt64, recordHash: [UInt8], digest: MultisetDigest) {
            self.offset = offset
            self.recordHash = recordHash
            self.digest = digest
        }

        init?(encoded bytes: [UInt8]) {
            var reader = BinaryReader(bytes)
            guard bytes.count == 1 + 8 + HashChain.hashBytes + MultisetDigest.byteCount, (try? reader.readUInt8()) == Self.format,
                  let offset = try? reader.readUInt64(), let hash = try? reader.readRaw(count: HashChain.hashBytes),
                  let digest = (try? reader.readRaw(count: MultisetDigest.byteCount)).flatMap(MultisetDigest.init(bytes:))
            else { return nil }
            self.init(offset: offset, recordHash: Array(hash), digest: digest)
        }
    }

    struct Damaged: Error, CustomStringConvertible {
        var description: String
    }

    /// Records folded per call at most, so no commit pays for folding a long log at once
    /// (turning retention on for a big log folds it over many commits).
    static let foldRecordsMax: UInt64 = 4096

    /// The summary of `partition`'s base, or nil if it has none (nothing folded yet, or a data
    /// directory from before base snapshots).
    static func summary(_ database: Database, partition: Int) throws -> Summary? {
        let meta = database.columnFamily(StoreLayout.meta)
        guard let bytes = try database.get(meta, key: StoreLayout.metaKey(partition: partition, .baseSnapshot)) else { return nil }
        guard let summary = Summary(encoded: bytes) else {
            throw Damaged(description: "the base snapshot summary of partition \(partition) is damaged")
        }
        return summary
    }

    /// Folds the changes of the records after the base's offset, through `through` (at most
    /// `foldRecordsMax` of them), into the base, and writes them with the new summary in one
    /// batch. Records are read through the log's verified read, so a damaged record stops the
    /// fold with an error instead of being folded. Starting from the base's own offset makes
    /// folding idempotent: a crash between a fold and the truncation it precedes only means
    /// the next fold finds less to do. Returns the base's summary afterwards, or nil when the
    /// log no longer holds the record after the base's offset: a data directory whose log was
    /// truncated before base snapshots existed, which can never have one.
    static func fold(log: any PartitionLog, database: Database, partition: Int, through: Offset) throws -> Summary? {
        let current = try summary(database, partition: partition)
            ?? Summary(offset: 0, recordHash: HashChain.genesis(partition: partition), digest: MultisetDigest())
        let end = min(through, current.offset + foldRecordsMax, log.nextOffset - 1)
        guard end > current.offset else { return current }
        guard current.offset + 1 >= log.firstOffset else { return nil }
        var view = StateView(database: database, partition: partition, family: StoreLayout.base)
        var folded = current
        let batch = WriteBatch()
        var next = current.offset + 1
        while next <= end {
            let entries = try log.read(from: next, limit: Int(end - next + 1))
            guard let last = entries.last else {
                throw LogError.corrupt(partition: partition, offset: next, reason: "record is missing")
            }
            for entry in entries {
                guard let bytes = entry.payload else { continue }  // a pruned read changed nothing
                let payload: LogPayload
                do {
                    payload = try LogPayload(decoding: bytes)
                } catch {
                    throw LogError.corrupt(partition: partition, offset: entry.offset, reason: "\(error)")
                }
                guard case .applied(let changes) = payload.outcome else { continue }
                view.currentOffset = entry.offset
                for change in changes {
                    let key = StoreLayout.stateKey(partition: partition, table: change.table, key: change.key)
                    if let old = try view.get(table: change.table, key: change.key) {
                        folded.digest.remove(key: key, value: old.encoded())
                    }
                    if let value = change.value {
                        folded.digest.insert(key: key, value: StoredValue(producedAt: entry.offset, json: value).encoded())
                    }
                    view.apply([change], into: batch)
                }
            }
            folded.offset = last.offset
            folded.recordHash = last.hash
            next = last.offset + 1
        }
        batch.put(database.columnFamily(StoreLayout.meta), key: StoreLayout.metaKey(partition: partition, .baseSnapshot), value: folded.encoded())
        // Not synced, like the truncation after it: it is written first, and RocksDB's
        // recovery keeps a prefix of writes, so a crash never keeps the truncation without it.
        try database.write(batch, sync: false)
        return folded
    }

    /// The digest of the base's contents as stored, recomputed by scanning them.
    static func scanDigest(_ database: Database, partition: Int) throws -> MultisetDigest {
        let range = StoreLayout.partitionRange(partition)
        var digest = MultisetDigest()
        try database.scan(database.columnFamily(StoreLayout.base), from: range.start, to: range.end) { key, value in
            digest.insert(key: key, value: value)
            return true
        }
        return digest
    }

    /// Copies the base of `partition` into the `state` family of `target` (the audit's scratch
    /// store), as the state to replay the rest of the log onto.
    static func copy(_ database: Database, partition: Int, intoStateOf target: Database) throws {
        let range = StoreLayout.partitionRange(partition)
        let state = target.columnFamily(StoreLayout.state)
        var batch = WriteBatch()
        try database.scan(database.columnFamily(StoreLayout.base), from: range.start, to: range.end) { key, value in
            batch.put(state, key: Array(key), value: Array(value))
            if batch.count >= 1024 {
                try target.write(batch, sync: false)
                batch = WriteBatch()
            }
            return true
        }
        try target.write(batch, sync: false)
    }
}
