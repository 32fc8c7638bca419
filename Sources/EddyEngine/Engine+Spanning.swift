import EddyExpressions
import EddyModel
import EddyStorage

/// Events that span partitions: fan-out queries, multi-gets and procedure calls. Each is
/// routed in pieces, as events, to the partitions that own the keys it touches.
extension Engine {
    /// A batch holding spanning events: each spanning event runs on its own, concurrently,
    /// and the rest go through the single-partition path together.
    func handle(mixedBatch batch: [Event]) async -> [EventResult] {
        let plain = batch.indices.filter { !batch[$0].op.spansPartitions }
        return await withTaskGroup(of: [(Int, EventResult)].self) { group in
            group.addTask { [self] in
                guard !plain.isEmpty else { return [] }
                return Array(zip(plain, await handle(batch: plain.map { batch[$0] })))
            }
            for index in batch.indices where batch[index].op.spansPartitions {
                group.addTask { [self] in
                    let started = ContinuousClock.now
                    let result = await handleSpanning(batch[index])
                    metrics.recordRequest(op: batch[index].op, duration: ContinuousClock.now - started)
                    return [(index, result)]
                }
            }
            var results = [EventResult?](repeating: nil, count: batch.count)
            for await finished in group {
                for (index, result) in finished { results[index] = result }
            }
            return results.map { $0! }
        }
    }

    private func handleSpanning(_ original: Event) async -> EventResult {
        var event = original
        if let after = event.after, !after.isEmpty {
            do {
                try await applied.wait(until: after)
            } catch {
                return .failure(error, id: event.id)
            }
        }
        if event.id == nil { event.id = Self.newServerID() }
        do {
            switch event.op {
            case .call: return try await call(event)
            case .declare: return try await declare(event)
            default: return await withCheckedContinuation { continuation in fanOut(event) { continuation.resume(returning: $0) } }
            }
        } catch {
            return .failure(error, id: event.id)
        }
    }

    // MARK: Fan-out

    /// One document a fan-out reads: its part name, where it lives, and the `get` event that
    /// reads it there.
    private struct Piece {
        var name: String
        var table: String
        var key: String
        var partition: Int
        var get: Event
    }

    /// A query or multiget: one `get` event per lookup, to the partition that owns its key,
    /// each logged there as a read record; the parts gathered by the query's ID; then one
    /// record in the partition of the query's ID that combines them into the answer.
    ///
    /// No task runs it: `completion` is called on the thread that answers last (the worker
    /// that logs the combining record, or the deadline thread when a part is late), and each
    /// step is queued from the thread that finished the step before.
    func fanOut(_ original: Event, completion: @escaping @Sendable (EventResult) -> Void) {
        var identified = original
        if identified.id == nil { identified.id = Self.newServerID() }
        let (event, id) = (identified, identified.id!)
        let version: UInt64?
        let pieces: [Piece]
        do {
            (version, pieces) = try plan(event)
        } catch {
            completion(.failure(error, id: id))
            return
        }
        let gather = Gather(count: pieces.count)
        let timeout = Duration.milliseconds(Int(configuration.fanOutTimeoutSeconds * 1000))
        gather.whenComplete(by: .now + timeout, deadlines: deadlines) { [self] replies in
            var combine = event
            var parts: [JSON] = []
            do throws(EddyError) {
                for (piece, reply) in zip(pieces, replies) { parts.append(try part(piece, reply)) }
            } catch {
                completion(.failure(error, id: id))
                return
            }
            combine.parts = .array(parts)
            combine.version = version
            let partition = partitioner.partition(table: "", key: id)
            worker(of: partition).submit(PartitionWork(partition: partition, event: combine) { reply in
                switch reply {
                case .result(let result): completion(result)
                case .failure(let error): completion(.failure(error, id: id))
                case .scanPart, .subscribed: preconditionFailure("scan or subscription reply for a \(event.op.rawValue)")
                }
            })
        }
        for (slot, piece) in pieces.enumerated() {
            worker(of: piece.partition).submit(PartitionWork(partition: piece.partition, event: piece.get) { gather.deliver($0, at: slot) })
        }
    }

    /// The documents a query or multiget reads, and the declaration version it runs under.
    private func plan(_ event: Event) throws(EddyError) -> (version: UInt64?, pieces: [Piece]) {
        var named: [(name: String, table: String, key: String)] = []
        var version: UInt64? = nil
        if event.op == .query {
            let current = declarations.current()
            version = current.version > 0 ? current.version : nil
            guard let query = current.declarations.queries[event.name ?? ""] else {
                throw EddyError(.unknownQuery, "query '\(event.name ?? "")' is not declared")
            }
            try query.input.validate(event.input, for: "query '\(query.name)'")
            let scope: [String: JSON] = ["input": event.input!]
            for lookup in query.lookups {
                let key = try CallOperation.Call.key(lookup.key, table: lookup.table, scope, partition: nil, partitioner)
                named.append((lookup.name, lookup.table, key))
            }
        } else {
            for (index, item) in event.keys.enumerated() {
                guard configuration.tables.contains(item.table) else {
                    throw EddyError(.unknownTable, "table '\(item.table)' is not declared")
                }
                named.append(("\(index)", item.table, item.key))
            }
        }
        let pieces = named.map { name, table, key in
            // Under a declared version the lookup IDs name it, so a retry after a declaration
            // changed never collides with the first attempt's lookups.
            let part = version.map { "v\($0).\(name)" } ?? name
            let get = Event(id: Event.derivedID(event.id!, part), op: .get, table: table, key: key, client: event.client)
            return Piece(name: name, table: table, key: key, partition: partitioner.partition(table: table, key: key), get: get)
        }
        return (version, pieces)
    }

    /// A lookup's reply as a part of the combining event, or why there is no answer.
    private func part(_ piece: Piece, _ reply: PartitionReply?) throws(EddyError) -> JSON {
        let what = "part '\(piece.name)' (\(piece.table)/\(piece.key) in partition \(piece.partition))"
        guard let reply else {
            throw EddyError(.partialFailure, "\(what) did not answer within \(configuration.fanOutTimeoutSeconds) s; no answer is given rather than a partial one")
        }
        guard case .result(let result) = reply, result.error == nil, case .read(let record)? = result.outcome, let document = result.document else {
            let reason: String = switch reply {
            case .failure(let error): error.description
            case .result(let result): result.error?.description ?? "no document"
            case .scanPart, .subscribed: "unexpected reply"
            }
            throw EddyError(.partialFailure, "\(what) failed: \(reason)")
        }
        let value = (try? JSON(parsing: document, maxDepth: 512)) ?? .null
        let producedAt = record.sources.first?.producedAt ?? 0
        return CombineOperation.Part(table: piece.table, key: piece.key, producedAt: producedAt, value: value).json
    }

    // MARK: Procedures

    /// A procedure call: its first stage is logged once under the request ID in the
    /// partition the declaration names; later stages follow as emitted events (`Courier`).
    /// The caller gets the recorded outcome, or `call_pending` if it takes too long.
    private func call(_ original: Event) async throws(EddyError) -> EventResult {
        var event = original
        let current = declarations.current()
        event.version = current.version > 0 ? current.version : nil
        guard let procedure = current.declarations.procedures[event.name ?? ""] else {
            throw EddyError(.unknownProcedure, "procedure '\(event.name ?? "")' is not declared")
        }
        try procedure.input.validate(event.input, for: "procedure '\(procedure.name)'")
        let callID = event.id!
        let first = CallOperation.Call(id: callID, procedure: procedure, input: event.input!, partitioner: partitioner)
        let partition = try first.partition(of: procedure.stages[0].at)

        let waiter = courier.expectOutcome(of: callID)
        let reply: PartitionReply = await withCheckedContinuation { continuation in
            courier.deliver(Emitted(partition: partition, event: event)) { continuation.resume(returning: $0) }
        }
        switch reply {
        case .failure(let error):
            courier.forget(waiter, of: callID)
            throw error
        case .scanPart, .subscribed:
            preconditionFailure("scan or subscription reply for a call")
        case .result(let result):
            if let error = result.error, error.code == .idReused {
                courier.forget(waiter, of: callID)
                return result
            }
            if result.replayed, let recorded = await recordedOutcome(procedure, callID) {
                // A retry of a call that finished long ago: its outcome is in the table.
                courier.forget(waiter, of: callID)
                return Self.render(callID, recorded)
            }
        }
        guard let outcome = await waiter.value(timeout: .milliseconds(Int(configuration.callOutcomeTimeoutSeconds * 1000))) else {
            courier.forget(waiter, of: callID)
            throw EddyError(.callPending, "call '\(callID)' is logged and will finish, but its outcome was not recorded within \(configuration.callOutcomeTimeoutSeconds) s; read \(procedure.outcomes)/\(callID) later, or retry with the same ID")
        }
        return Self.render(callID, outcome)
    }

    /// The outcome of `callID` as recorded, read as a logged one-off read.
    private func recordedOutcome(_ procedure: ProcedureDeclaration, _ callID: String) async -> Courier.CallOutcome? {
        let read = await handle(Event(op: .get, table: procedure.outcomes, key: callID))
        guard read.error == nil, let body = try? JSON(parsing: read.body, maxDepth: 512), let value = body["value"], !value.isNull else { return nil }
        return Courier.CallOutcome(value: value)
    }

    /// `{"error"?, "id", "ok", "outcome"}`; a rejected call carries the rejecting stage's
    /// error, so its HTTP status says why. Built from the recorded outcome alone, so a retry
    /// gets the same bytes. (No position: every stage is applied before the outcome is
    /// recorded, so a later read in any partition the call touched already sees it.)
    static func render(_ callID: String, _ outcome: Courier.CallOutcome) -> EventResult {
        var writer = ResultWriter()
        let error = outcome.value["error"].flatMap(EddyError.init(json:))
        if let error { writer.error(error) }
        writer.string("id", callID)
        writer.bool("ok", error == nil)
        writer.raw("outcome", outcome.value.serialized())
        return EventResult(body: writer.finish(), error: error)
    }

    /// At start-up: deliver again every emitted event whose target had not applied it
    /// when the server stopped.
    func redeliverOutbox() throws {
        let outbox = database.columnFamily(StoreLayout.outbox)
        var pending: [Emitted] = []
        try database.scan(outbox, from: [UInt8](), to: nil) { _, value in
            pending.append(try StoreLayout.decodeOutboxEntry(Array(value)))
            return true
        }
        for emitted in pending { courier.deliver(emitted) }
    }
}
