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

    private func handleSpanning(_ event: Event) async -> EventResult {
        if let after = event.after, !after.isEmpty {
            do {
                try await applied.wait(until: after)
            } catch {
                return .failure(error, id: event.id)
            }
        }
        guard event.op == .declare else {
            return await withCheckedContinuation { continuation in spanning(event) { continuation.resume(returning: $0) } }
        }
        var declaration = event
        if declaration.id == nil { declaration.id = Self.newServerID() }
        do {
            return try await declare(declaration)
        } catch {
            return .failure(error, id: declaration.id)
        }
    }

    /// A query, multiget or call, whose `after` (if any) is reached. No task runs it: each
    /// step is queued from the thread that finished the step before, and `completion` runs
    /// on the thread that finishes the last (a worker's, or the deadline thread's when
    /// something is late).
    func spanning(_ original: Event, completion: @escaping @Sendable (EventResult) -> Void) {
        precondition(original.op.spansPartitions && original.op != .declare, "\(original.op.rawValue) is not a query, multiget or call")
        var event = original
        if event.id == nil { event.id = Self.newServerID() }
        if event.op == .call {
            call(event, completion: completion)
        } else {
            fanOut(event, completion: completion)
        }
    }

    // MARK: Fan-out

    /// One document a fan-out reads: its part name, and the `get` event (`lookup`) that reads
    /// it in the partition that owns it.
    private struct Piece {
        var name: String
        var partition: Int
        var lookup: Event
        var table: String { lookup.table }
        var key: String { lookup.key! }
    }

    /// A query or multiget: one `get` event per lookup, to the partition that owns its key,
    /// each logged there as a read record; the parts gathered by the query's ID; then one
    /// record in the partition of the query's ID that combines them into the answer.
    ///
    /// The worker that answers the last lookup queues the combining event, and the worker
    /// that logs it calls `completion`; the deadline thread does when a part is late.
    private func fanOut(_ event: Event, completion: @escaping @Sendable (EventResult) -> Void) {
        let id = event.id!
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
            worker(of: piece.partition).submit(PartitionWork(partition: piece.partition, event: piece.lookup) { gather.deliver($0, at: slot) })
        }
    }

    /// The documents a query or multiget reads, and the declaration version it runs under.
    private func plan(_ event: Event) throws(EddyError) -> (version: UInt64?, pieces: [Piece]) {
        var pieces: [Piece] = []
        var version: UInt64? = nil
        func read(_ name: String, _ table: String, _ key: String) {
            // Under a declared version the lookup IDs name it, so a retry after a declaration
            // changed never collides with the first attempt's lookups.
            let part = version.map { "v\($0).\(name)" } ?? name
            let get = Event(id: Event.derivedID(event.id!, part), op: .get, table: table, key: key, client: event.client)
            pieces.append(Piece(name: name, partition: partitioner.partition(table: table, key: key), lookup: get))
        }
        if event.op == .query {
            let current = declarations.current()
            version = current.version > 0 ? current.version : nil
            guard let query = current.declarations.queries[event.name ?? ""] else {
                throw EddyError(.unknownQuery, "query '\(event.name ?? "")' is not declared")
            }
            try query.input.validate(event.input, for: "query '\(query.name)'")
            let scope: [String: JSON] = ["input": event.input!]
            for lookup in query.lookups {
                read(lookup.name, lookup.table, try CallOperation.Call.key(lookup.key, table: lookup.table, scope, partition: nil, partitioner))
            }
        } else {
            for (index, item) in event.keys.enumerated() {
                guard configuration.tables.contains(item.table) else {
                    throw EddyError(.unknownTable, "table '\(item.table)' is not declared")
                }
                read("\(index)", item.table, item.key)
            }
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
        let value = (try? JSON(parsing: document, maxDepth: Limits.storedJSONDepthMax)) ?? .null
        let producedAt = record.sources.first?.producedAt ?? 0
        return CombineOperation.Part(table: piece.table, key: piece.key, producedAt: producedAt, value: value).json
    }

    // MARK: Procedures

    /// A procedure call: its first stage is logged once under the request ID in the
    /// partition the declaration names; later stages follow as emitted events (`Courier`).
    /// The caller gets the recorded outcome, or `call_pending` if it takes too long.
    private func call(_ original: Event, completion: @escaping @Sendable (EventResult) -> Void) {
        var event = original
        let callID = event.id!
        let current = declarations.current()
        event.version = current.version > 0 ? current.version : nil
        let procedure: ProcedureDeclaration
        let partition: Int
        do throws(EddyError) {
            guard let declared = current.declarations.procedures[event.name ?? ""] else {
                throw EddyError(.unknownProcedure, "procedure '\(event.name ?? "")' is not declared")
            }
            procedure = declared
            try procedure.input.validate(event.input, for: "procedure '\(procedure.name)'")
            let first = CallOperation.Call(id: callID, procedure: procedure, input: event.input!, partitioner: partitioner)
            partition = try first.partition(of: procedure.stages[0].at)
        } catch {
            completion(.failure(error, id: callID))
            return
        }

        let waiter = courier.expectOutcome(of: callID)
        let timeout = Duration.milliseconds(Int(configuration.callOutcomeTimeoutSeconds * 1000))
        let awaitOutcome: @Sendable () -> Void = { [self] in
            waiter.whenFulfilled(by: .now + timeout, deadlines: deadlines) { [self] outcome in
                guard let outcome else {
                    courier.forget(waiter, of: callID)
                    completion(.failure(EddyError(.callPending, "call '\(callID)' is logged and will finish, but its outcome was not recorded within \(configuration.callOutcomeTimeoutSeconds) s; read \(procedure.outcomes)/\(callID) later, or retry with the same ID"), id: callID))
                    return
                }
                completion(Self.render(callID, outcome))
            }
        }
        courier.deliver(Emitted(partition: partition, event: event)) { [self] reply in
            switch reply {
            case .failure(let error):
                courier.forget(waiter, of: callID)
                completion(.failure(error, id: callID))
            case .scanPart, .subscribed:
                preconditionFailure("scan or subscription reply for a call")
            case .result(let result):
                if let error = result.error, error.code == .idReused {
                    courier.forget(waiter, of: callID)
                    completion(result)
                } else if result.replayed {
                    // A retry: if the call finished long ago, its outcome is in the table
                    // (read as a logged one-off read); otherwise it is still on its way.
                    submit([Event(op: .get, table: procedure.outcomes, key: callID)]) { [self] reads in
                        guard let recorded = Self.recordedOutcome(reads[0]) else { return awaitOutcome() }
                        courier.forget(waiter, of: callID)
                        completion(Self.render(callID, recorded))
                    }
                } else {
                    awaitOutcome()
                }
            }
        }
    }

    /// The outcome a read of the outcome table found, if the call has one.
    private static func recordedOutcome(_ read: EventResult) -> Courier.CallOutcome? {
        guard read.error == nil, let document = read.document, let value = try? JSON(parsing: document, maxDepth: Limits.storedJSONDepthMax), !value.isNull else { return nil }
        return Courier.CallOutcome(value: value)
    }

    /// `{"error"?, "id", "ok", "outcome"}`; a rejected call carries the rejecting stage's
    /// error, so its HTTP status says why. Built from the recorded outcome alone, so a retry
    /// gets the same bytes. (No position: every stage is applied before the outcome is
    /// recorded, so a later read in any partition the call touched already sees it.)
    static func render(_ callID: String, _ outcome: Courier.CallOutcome) -> EventResult {
        var writer = JSONObjectWriter()
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
