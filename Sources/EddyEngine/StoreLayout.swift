import EddyLog
import EddyModel
import EddyStorage

/// The column families of the data directory and how their keys are built.
///
/// Keys of the log, state and meta families start with the partition number (2 bytes,
/// big-endian), so one partition's data is one contiguous range: easy to scan, audit, or
/// hand to another node. Request-ID keys start with the ID, for point lookups by ID.
enum StoreLayout {
    /// Current documents: partition, table, NUL, key → `StoredValue`.
    static let state = "state"
    /// Client request IDs: id, NUL, partition → offset and event fingerprint.
    static let requestIDs = "ids"
    /// Per-partition bookkeeping: applied offset, start epoch, partition count.
    static let meta = "meta"
    /// Reads by client, for provenance ("what did this client see?"): client, NUL,
    /// timestamp, partition, offset → nothing.
    static let clientReads = "reads"
    /// The base snapshot: per partition, the state that the records retention removed derive
    /// (same keys and values as `state`), so the audit can re-derive state from it and the
    /// log that is left (`BaseSnapshot`).
    static let base = "base"

    /// Every family the engine uses. Opening a data directory made before one of them existed
    /// creates it empty (`Database` opens with create-missing-column-families).
    static let columnFamilies = [EmbeddedLog.columnFamily, state, requestIDs, meta, clientReads, outbox, base]

    /// Events a procedure stage emitted and that the target partition has not yet applied:
    /// derived event ID → target partition and event. Written in the emitting stage's batch,
    /// deleted in the batch of the stage that receives it; what is left at start-up is
    /// delivered again (see `Courier`).
    static let outbox = "outbox"


    static func outboxEntry(_ emitted: Emitted) -> [UInt8] {
        var writer = BinaryWriter(capacity: 128)
        writer.write(UInt16(emitted.partition))
        writer.writeBlob(emitted.event.canonicalJSON())
        return writer.bytes
    }

    static func decodeOutboxEntry(_ bytes: [UInt8]) throws -> Emitted {
        var reader = BinaryReader(bytes)
        let partition = Int(try reader.readUInt16())
        let event = try Event(storedJSON: try JSON(parsing: Array(try reader.readBlob()), maxDepth: Limits.storedJSONDepthMax))
        return Emitted(partition: partition, event: event)
    }

    /// The ID under which an event's outcome is indexed for retries, or nil. Client IDs are;
    /// server IDs ("@…") are unique by construction and are not, except the IDs of writes
    /// derived from a request (a procedure's stages), which the outbox may deliver twice.
    static func indexedID(of event: Event) -> String? {
        guard let id = event.id else { return nil }
        if id.first != Event.serverIDMarker { return id }
        return event.op.isWrite && Event.requestID(ofDerived: id) != nil ? id : nil
    }

    static func stateKey(partition: Int, table: String, key: String) -> [UInt8] {
        var writer = BinaryWriter(capacity: 4 + table.utf8.count + key.utf8.count)
        writer.write(UInt16(partition))
        writer.writeRaw(table.utf8)
        writer.write(UInt8(0))
        writer.writeRaw(key.utf8)
        return writer.bytes
    }

    /// The range of state keys of `table` in `partition` that start with `prefix`.
    static func stateRange(partition: Int, table: String, prefix: String) -> (start: [UInt8], end: [UInt8]) {
        let start = stateKey(partition: partition, table: table, key: prefix)
        return (start, successor(ofPrefix: start))
    }

    /// Every key of one partition in a partition-prefixed family (log, state, meta).
    static func partitionRange(_ partition: Int) -> (start: [UInt8], end: [UInt8]) {
        var writer = BinaryWriter(capacity: 2)
        writer.write(UInt16(partition))
        return (writer.bytes, successor(ofPrefix: writer.bytes))
    }

    /// The smallest key greater than every key that starts with `prefix`.
    static func successor(ofPrefix prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0xFF, 0xFF, 0xFF]
    }

    /// The document key of a state key, given its table's length.
    static func documentKey(fromStateKey stateKey: UnsafeRawBufferPointer, tableLength: Int) -> String {
        String(decoding: stateKey[(2 + tableLength + 1)...], as: UTF8.self)
    }

    static func requestIDKey(_ id: String, partition: Int) -> [UInt8] {
        var writer = BinaryWriter(capacity: id.utf8.count + 3)
        writer.writeRaw(id.utf8)
        writer.write(UInt8(0))
        writer.write(UInt16(partition))
        return writer.bytes
    }

    /// Every request-ID key of `id`, over all partitions.
    static func requestIDRange(_ id: String) -> (start: [UInt8], end: [UInt8]) {
        var writer = BinaryWriter(capacity: id.utf8.count + 1)
        writer.writeRaw(id.utf8)
        writer.write(UInt8(0))
        return (writer.bytes, successor(ofPrefix: writer.bytes))
    }

    /// The partition a request-ID key belongs to.
    static func partition(fromRequestIDKey key: [UInt8]) -> Int {
        Int(key[key.count - 2]) << 8 | Int(key[key.count - 1])
    }

    static func clientReadKey(client: String, timestampMs: UInt64, partition: Int, offset: UInt64) -> [UInt8] {
        var writer = BinaryWriter(capacity: client.utf8.count + 19)
        writer.writeRaw(client.utf8)
        writer.write(UInt8(0))
        writer.write(timestampMs)
        writer.write(UInt16(partition))
        writer.write(offset)
        return writer.bytes
    }

    /// The client-read keys of `client` from `fromMs` up to, not including, `toMs`.
    static func clientReadRange(client: String, fromMs: UInt64, toMs: UInt64) -> (start: [UInt8], end: [UInt8]) {
        var start = BinaryWriter(capacity: client.utf8.count + 9)
        start.writeRaw(client.utf8)
        start.write(UInt8(0))
        var end = start
        start.write(fromMs)
        end.write(toMs)
        return (start.bytes, end.bytes)
    }

    /// Timestamp, partition and offset of a client-read key.
    static func decodeClientReadKey(_ key: [UInt8]) -> (timestampMs: UInt64, partition: Int, offset: UInt64)? {
        guard key.count >= 19 else { return nil }
        var reader = BinaryReader(key, position: key.count - 18)
        guard let timestamp = try? reader.readUInt64(), let partition = try? reader.readUInt16(), let offset = try? reader.readUInt64() else { return nil }
        return (timestamp, Int(partition), offset)
    }

    /// A request-ID entry: the offset of the event's record and its fingerprint.
    static func requestIDEntry(offset: UInt64, fingerprint: UInt64) -> [UInt8] {
        var writer = BinaryWriter(capacity: 16)
        writer.write(offset)
        writer.write(fingerprint)
        return writer.bytes
    }

    static func decodeRequestIDEntry(_ bytes: [UInt8]) throws -> (offset: UInt64, fingerprint: UInt64) {
        var reader = BinaryReader(bytes)
        return (try reader.readUInt64(), try reader.readUInt64())
    }

    enum MetaField: UInt8 {
        case appliedOffset = 1
        case epoch = 2
        case partitionCount = 3
        /// The base snapshot's offset, the hash of its last record and its digest (`BaseSnapshot.Summary`).
        case baseSnapshot = 4
        /// The first offset the read-record pruner has not yet looked at (`ReadPruner`).
        case pruneCursor = 5
    }

    static func metaKey(partition: Int, _ field: MetaField) -> [UInt8] {
        var writer = BinaryWriter(capacity: 3)
        writer.write(UInt16(partition))
        writer.write(field.rawValue)
        return writer.bytes
    }

    static func encode(_ value: UInt64) -> [UInt8] {
        var writer = BinaryWriter(capacity: 8)
        writer.write(value)
        return writer.bytes
    }

    static func decodeUInt64(_ bytes: [UInt8]) -> UInt64? {
        var reader = BinaryReader(bytes)
        return try? reader.readUInt64()
    }
}
