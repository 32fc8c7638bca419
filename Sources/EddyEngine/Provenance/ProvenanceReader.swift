import Crypto
import EddyLog
import EddyModel
import EddyStorage
import Foundation

/// Answers provenance questions from the log: what an event did or saw, which writes
/// produced what a read returned (as it was then, whatever the state is now), and what a
/// client read. Read-only; called on a blocking-read thread, never on an event loop.
struct ProvenanceReader {
    let database: Database
    let store: any LogStore
    let partitions: Int
    /// The read-record retention (`readRecordRetentionSeconds`), named when a pruned read is asked for.
    var readRetentionSeconds: Int = 0

    /// One log record with its place.
    struct Located {
        var partition: Int
        var offset: UInt64
        var payload: LogPayload
    }

    /// Why an ID has nothing to show.
    enum Missing: Error {
        case unknown(String)
        case expired(String)
    }

    // MARK: Finding records

    /// The records an ID names: one for most events, one per partition for a scan or a
    /// subscription. Throws `Missing` when there are none.
    func records(of id: String) throws -> [Located] {
        if let named = Self.recordID(id) {
            let located = try record(partition: named.partition, offset: named.offset, for: id)
            guard located.payload.epoch == named.epoch else {
                throw Missing.unknown("no event '\(id)': the record at \(named.partition):\(named.offset) is from server start \(located.payload.epoch) (an unsynced read lost in a crash gave its offset to a later event)")
            }
            return [located]
        }
        let family = database.columnFamily(StoreLayout.requestIDs)
        let range = StoreLayout.requestIDRange(id)
        var places: [(partition: Int, offset: UInt64)] = []
        try database.scan(family, from: range.start, to: range.end) { key, value in
            let entry = try StoreLayout.decodeRequestIDEntry(Array(value))
            places.append((StoreLayout.partition(fromRequestIDKey: Array(key)), entry.offset))
            return places.count < partitions
        }
        guard !places.isEmpty else { throw Missing.unknown("no event has ID '\(id)'") }
        return try places.map { try record(partition: $0.partition, offset: $0.offset, for: id) }
    }

    private func record(partition: Int, offset: UInt64, for id: String) throws -> Located {
        guard partition < partitions, offset > 0 else { throw Missing.unknown("no event '\(id)': \(partition):\(offset) is not a record") }
        let entries: [LogEntry]
        do {
            entries = try store.read(partition: partition, from: offset, limit: 1)
        } catch LogError.truncated(_, _, let first) {
            throw Missing.expired("the record of '\(id)' (\(partition):\(offset)) is past retention: the log of partition \(partition) now starts at \(first)")
        }
        guard let entry = entries.first, entry.offset == offset else { throw Missing.unknown("no event '\(id)': \(partition):\(offset) is not written") }
        guard let bytes = entry.payload else {
            throw Missing.expired("the read record of '\(id)' (\(partition):\(offset)) is past the read-record retention: read records are kept for \(readRetentionSeconds) seconds (storage.readRecordRetentionSeconds), then pruned")
        }
        do {
            return Located(partition: partition, offset: offset, payload: try LogPayload(decoding: bytes))
        } catch {
            throw LogError.corrupt(partition: partition, offset: offset, reason: "\(error)")
        }
    }

    /// Partition, offset and epoch of a "@P-O-E" ID.
    static func recordID(_ id: String) -> (partition: Int, offset: UInt64, epoch: UInt32)? {
        guard id.first == Event.serverIDMarker else { return nil }
        let parts = id.dropFirst().split(separator: "-")
        guard parts.count == 3, let partition = Int(parts[0]), let offset = UInt64(parts[1]), let epoch = UInt32(parts[2]) else { return nil }
        return (partition, offset, epoch)
    }

    // MARK: Explaining

    /// What `id` did or saw, and, to `depth` levels, the same for the events it names in `causedBy`.
    func explain(_ id: String, depth: Int) throws -> JSON {
        var object: [String: JSON] = ["id": .string(id)]
        let located: [Located]
        do {
            located = try records(of: id)
        } catch Missing.unknown(let reason) {
            object["found"] = false
            object["message"] = .string(reason)
            return .object(object)
        } catch Missing.expired(let reason) {
            object["found"] = false
            object["expired"] = true
            object["message"] = .string(reason)
            return .object(object)
        }
        object["found"] = true
        object["records"] = .array(try located.map(explain))
        let causes = located.first?.payload.event.causedBy ?? []
        if !causes.isEmpty {
            object["causedBy"] = depth > 0
                ? .array(try causes.map { try explain($0, depth: depth - 1) })
                : .array(causes.map { ["id": .string($0), "truncated": "depth limit reached"] })
        }
        return .object(object)
    }

    private func explain(_ record: Located) throws -> JSON {
        let payload = record.payload
        var object: [String: JSON] = [
            "partition": .number(Double(record.partition)),
            "offset": .number(Double(record.offset)),
            "position": .string(Position(partition: record.partition, offset: record.offset).token),
            "timestampMs": .number(Double(payload.timestampMs)),
            "event": payload.event.json,
        ]
        switch payload.outcome {
        case .applied(let changes):
            object["kind"] = "write"
            object["changes"] = .array(changes.map { change in
                ["table": .string(change.table), "key": .string(change.key), "value": change.value.flatMap { try? JSON(parsing: $0, maxDepth: Limits.storedJSONDepthMax) } ?? .null]
            })
        case .rejected(let error):
            object["kind"] = "rejected"
            object["error"] = error.json
        case .read(let read):
            object["kind"] = "read"
            object.merge(try explainRead(read, at: record), uniquingKeysWith: { $1 })
        }
        return .object(object)
    }

    /// What a read returned and the writes behind it. The answer is the stored one when the
    /// read kept it (a client-chosen ID), else rebuilt from the writes that produced each
    /// document; either way it is checked against the record's digest.
    private func explainRead(_ read: ReadRecord, at record: Located) throws -> [String: JSON] {
        var object: [String: JSON] = [:]
        if let client = record.payload.event.client { object["client"] = .string(client) }
        var documents: [(key: String, value: [UInt8]?)] = []
        var sources: [JSON] = []
        var complete = true
        for source in read.sources {
            var entry: [String: JSON] = ["table": .string(source.table), "key": .string(source.key)]
            if source.producedAt == 0 {
                entry["producedBy"] = .null  // the key was absent
                documents.append((source.key, nil))
            } else {
                do {
                    let producer = try self.record(partition: record.partition, offset: source.producedAt, for: "\(record.partition):\(source.producedAt)")
                    let change = producer.payload.outcome.change(table: source.table, key: source.key)
                    entry["producedBy"] = [
                        "id": .string(producer.payload.event.id ?? OperatorCore.serverID(partition: record.partition, offset: source.producedAt, epoch: producer.payload.epoch)),
                        "partition": .number(Double(record.partition)), "offset": .number(Double(source.producedAt)),
                        "position": .string(Position(partition: record.partition, offset: source.producedAt).token),
                    ]
                    documents.append((source.key, change?.value))
                    if change == nil { complete = false }
                } catch Missing.expired(let reason) {
                    entry["producedBy"] = ["expired": true, "message": .string(reason)]
                    complete = false
                }
            }
            sources.append(.object(entry))
        }
        object["sources"] = .array(sources)

        let event = record.payload.event
        let answer: [UInt8]?
        if let stored = read.answer {
            answer = stored
            object["answerFrom"] = "record"
        } else if complete {
            answer = Self.rebuild(event.op, documents, digest: read.digest)
            object["answerFrom"] = "rebuilt"
        } else {
            answer = nil
            object["answerFrom"] = "unavailable: a write behind it is past retention"
        }
        if let answer {
            object["answer"] = (try? JSON(parsing: answer, maxDepth: Limits.storedJSONDepthMax)) ?? .null
            object["digestMatches"] = .bool(Array(SHA256.hash(data: answer)) == read.digest)
        }
        return object
    }

    /// The canonical answer of a read from its documents, as `Answer.canonicalBytes` made it.
    /// A scan part's `more` flag is not recorded, so the form the digest matches is chosen.
    static func rebuild(_ op: Op, _ documents: [(key: String, value: [UInt8]?)], digest: [UInt8]) -> [UInt8] {
        if op == .get { return documents.first?.value ?? Array("null".utf8) }
        let items = documents.compactMap { document in document.value.map { (key: document.key, value: $0) } }
        let candidates = [false, true].map { Answer.items(items, more: $0).canonicalBytes }
        return candidates.first { Array(SHA256.hash(data: $0)) == digest } ?? candidates[0]
    }

    // MARK: Reads of a client

    /// The reads `client` made from `fromMs` up to `toMs`, oldest first, each explained.
    func reads(ofClient client: String, fromMs: UInt64, toMs: UInt64, limit: Int) throws -> JSON {
        let family = database.columnFamily(StoreLayout.clientReads)
        let range = StoreLayout.clientReadRange(client: client, fromMs: fromMs, toMs: toMs)
        var places: [(partition: Int, offset: UInt64)] = []
        var more = false
        try database.scan(family, from: range.start, to: range.end) { key, _ in
            guard places.count < limit else {
                more = true
                return false
            }
            if let place = StoreLayout.decodeClientReadKey(Array(key)) { places.append((place.partition, place.offset)) }
            return true
        }
        var reads: [JSON] = []
        for place in places {
            do {
                reads.append(try explain(try record(partition: place.partition, offset: place.offset, for: "\(place.partition):\(place.offset)")))
            } catch Missing.expired(let reason) {
                reads.append(["partition": .number(Double(place.partition)), "offset": .number(Double(place.offset)), "expired": true, "message": .string(reason)])
            }
        }
        var listing: [String: JSON] = ["client": .string(client), "reads": .array(reads), "more": .bool(more)]
        // Pruned reads leave the index with their records, so say plainly that the listing
        // cannot reach back past the retention, rather than let it look complete.
        let nowMs = UInt64(Date().timeIntervalSince1970 * 1000)
        let retentionMs = UInt64(readRetentionSeconds) * 1000
        if retentionMs > 0, nowMs > retentionMs, fromMs < nowMs - retentionMs {
            listing["expiredBeforeMs"] = .number(Double(nowMs - retentionMs))
            listing["message"] = .string("reads older than \(readRetentionSeconds) seconds (storage.readRecordRetentionSeconds) are pruned and not listed")
        }
        return .object(listing)
    }
}

extension Outcome {
    /// The change this outcome made to `table`/`key`, if it made one.
    func change(table: String, key: String) -> Change? {
        guard case .applied(let changes) = self else { return nil }
        return changes.last { $0.table == table && $0.key == key }
    }
}
