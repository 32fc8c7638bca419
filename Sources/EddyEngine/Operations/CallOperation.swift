import EddyExpressions
import EddyModel

/// One stage of a declared procedure, run in the partition the stage names.
///
/// A call's first stage is the `call` event itself, logged once under the request ID. Each
/// stage checks its conditions against this partition's state and runs its writes through
/// the ordinary single-key operations, then emits the next event: the next stage, an undo
/// of an earlier stage (after a rejection), or finally the outcome record. Emitted events
/// carry IDs derived from the request ID, so the partition that receives one twice (a
/// redelivery after a crash) applies it once. Pure, like every operation: the auditor
/// re-runs it and gets the same changes and the same emitted events.
enum CallOperation {
    static func handle(_ event: Event, state: StateView, context: OperationContext) throws -> Handled {
        guard let name = event.name, let procedure = context.declarations.declarations(event.version)?.procedures[name] else {
            return Handled(outcome: .rejected(EddyError(.unknownProcedure, "procedure '\(event.name ?? "")' is not declared")), answer: nil)
        }
        guard let id = event.id else {
            return Handled(outcome: .rejected(EddyError(.invalidEvent, "a call reaches its partition only with an ID")), answer: nil)
        }
        let call = Call(id: Event.requestID(ofDerived: id) ?? id, procedure: procedure, input: event.input ?? .null, version: event.version, partitioner: context.partitioner)
        var progress = Progress(event.progress)
        guard progress.stage < procedure.stages.count else {
            return Handled(outcome: .rejected(EddyError(.invalidEvent, "procedure '\(name)' has no stage \(progress.stage)")), answer: nil)
        }
        let stage = procedure.stages[progress.stage]

        if progress.undo {
            let handled = try run(stage.undo, scope: ["input": call.input], state: state, context: context)
            let changes: [Change]
            switch handled {
            case .success(let applied):
                changes = applied
                progress.done.append("\(stage.name): undone")
            // An undo write that cannot apply is recorded and the undo chain goes on: the
            // outcome then says what was done.
            case .failure(let error):
                changes = []
                progress.done.append("\(stage.name): undo failed: \(error.message)")
            }
            return Handled(outcome: .applied(changes), answer: nil, emits: [call.next(afterUndoOf: progress.stage, progress)])
        }

        var result: Result<[Change], EddyError>
        var deliveries: [Emitted] = []
        do {
            if progress.stage == 0 {
                // Route every stage now, so a call that could not finish is refused before
                // its first write rather than stranded halfway.
                for later in procedure.stages { _ = try call.partition(of: later.at) }
            }
            var scope: [String: JSON] = ["input": call.input]
            for read in stage.reads {
                let key = try call.key(read, in: state.partition)
                scope[read.name] = try state.get(table: read.table, key: key).map { try document($0, table: read.table, key: key, partition: state.partition) } ?? .null
            }
            for check in stage.checks {
                guard case .bool(let holds) = try Call.evaluate(check.condition, scope) else {
                    throw EddyError(.expressionFailed, "a check of stage '\(stage.name)' is not true or false")
                }
                if !holds { throw EddyError(EddyError.Code(rawValue: check.code), check.reason) }
            }
            result = try run(stage.writes, scope: scope, state: state, context: context)
            if case .success = result, let delivery = stage.deliver {
                deliveries = try call.deliveries(delivery, scope: scope, limits: context.limits)
            }
        } catch let error as EddyError {
            result = .failure(error)
        }
        switch result {
        case .success(let changes):
            progress.done.append("\(stage.name): applied")
            let next = progress.stage + 1 < procedure.stages.count
                ? call.stage(progress.stage + 1, undo: false, progress)
                : call.outcome(progress, error: nil)
            return Handled(outcome: .applied(changes), answer: nil, emits: deliveries + [next])
        case .failure(let error):
            progress.done.append("\(stage.name): rejected")
            progress.error = error
            return Handled(outcome: .rejected(error), answer: nil, emits: [call.next(afterUndoOf: progress.stage, progress)])
        }
    }

    /// Runs writes in order, each seeing the ones before; the first rejected write rejects them all.
    private static func run(_ writes: [ProcedureDeclaration.Write], scope: [String: JSON], state: StateView, context: OperationContext) throws -> Result<[Change], EddyError> {
        var local = state
        var changes: [Change] = []
        do {
            for write in writes {
                let key = try Call.key(write.key, table: write.table, scope, partition: state.partition, context.partitioner)
                var event = Event(op: write.op, table: write.table, key: key)
                if let template = write.value {
                    event.value = try Call.value(template, scope, what: "a \(write.op.rawValue) to '\(write.table)'", limits: context.limits)
                }
                if let field = write.field { event.field = field }
                if let by = write.by {
                    guard case .number(let amount) = try Call.evaluate(by, scope) else {
                        throw EddyError(.expressionFailed, "'by' of an incr to '\(write.table)' is not a number")
                    }
                    event.amount = amount
                }
                let handled = try Operations.handler(for: write.op).handle(event, state: local, limits: context.limits)
                switch handled.outcome {
                case .applied(let applied):
                    for change in applied { local.stage(change) }
                    changes += applied
                case .rejected(let error):
                    throw error
                case .read:
                    preconditionFailure("a procedure write ran a read")
                }
            }
        } catch let error as EddyError {
            return .failure(error)
        }
        return .success(changes)
    }

    private static func document(_ stored: StoredValue, table: String, key: String, partition: Int) throws -> JSON {
        do {
            return try JSON(parsing: stored.json, maxDepth: Limits.storedJSONDepthMax)
        } catch {
            throw DamagedState(partition: partition, table: table, key: key)
        }
    }

    /// Where a call is: which stage runs next, whether it is undoing, what is done, and
    /// the error that rejected it. Travels in the emitted events' `progress` field.
    struct Progress {
        var stage = 0
        var undo = false
        var done: [String] = []
        var error: EddyError?

        init(_ json: JSON?) {
            guard let json else { return }
            stage = Int(json["stage"]?.numberValue ?? 0)
            undo = json["undo"]?.boolValue ?? false
            done = json["done"]?.arrayValue?.compactMap(\.stringValue) ?? []
            error = json["error"].flatMap(EddyError.init(json:))
        }

        var json: JSON {
            var object: [String: JSON] = ["stage": .number(Double(stage)), "undo": .bool(undo), "done": .array(done.map(JSON.string))]
            if let error { object["error"] = error.json }
            return .object(object)
        }
    }

    /// One call: its request ID, declaration and input, and how its events are built.
    struct Call {
        var id: String
        var procedure: ProcedureDeclaration
        var input: JSON
        /// The declarations version the call runs with; every stage runs with the same one.
        var version: UInt64?
        var partitioner: Partitioner

        static func evaluate(_ expression: Expression, _ scope: [String: JSON]) throws(EddyError) -> JSON {
            do {
                return try expression.evaluate(in: scope)
            } catch {
                throw EddyError(.expressionFailed, error.reason)
            }
        }

        /// A document a write or delivery stores, evaluated and checked against `valueBytesMax`.
        static func value(_ template: ValueTemplate, _ scope: [String: JSON], what: String, limits: Limits) throws(EddyError) -> JSON {
            let value: JSON
            do {
                value = try template.evaluate(in: scope)
            } catch {
                throw EddyError(.expressionFailed, "value of \(what): \(error.reason)")
            }
            let size = value.serialized().count
            guard size <= limits.valueBytesMax else {
                throw EddyError(.valueTooLarge, "\(what) would store \(size) bytes; the maximum is \(limits.valueBytesMax)")
            }
            return value
        }

        /// A key expression's value, which must be a non-empty string owned by `partition`.
        static func key(_ expression: Expression, table: String, _ scope: [String: JSON], partition: Int?, _ partitioner: Partitioner) throws(EddyError) -> String {
            guard case .string(let key) = try evaluate(expression, scope), !key.isEmpty else {
                throw EddyError(.expressionFailed, "a key of table '\(table)' is not a non-empty string")
            }
            if let partition, partitioner.partition(table: table, key: key) != partition {
                throw EddyError(.expressionFailed, "key '\(key)' of table '\(table)' lives in another partition than the stage that uses it; a stage reads and writes only its own partition")
            }
            return key
        }

        func key(_ lookup: Lookup, in partition: Int) throws(EddyError) -> String {
            try Self.key(lookup.key, table: lookup.table, ["input": input], partition: partition, partitioner)
        }

        func partition(of at: Lookup) throws(EddyError) -> Int {
            partitioner.partition(table: at.table, key: try Self.key(at.key, table: at.table, ["input": input], partition: nil, partitioner))
        }

        func stage(_ index: Int, undo: Bool, _ progress: Progress) -> Emitted {
            let stage = procedure.stages[index]
            var next = progress
            next.stage = index
            next.undo = undo
            var event = Event(id: Event.derivedID(id, undo ? "undo-" + stage.name : stage.name), op: .call, table: "")
            event.name = procedure.name
            event.input = input
            event.progress = next.json
            event.version = version
            // Routing was checked when the call started, so this cannot fail.
            let partition = (try? partition(of: stage.at)) ?? 0
            return Emitted(partition: partition, event: event)
        }

        /// The puts a `deliver` sends, one per element of its list, each to the partition that
        /// owns its key. Each ID is derived from the request ID and the element's place, so the
        /// receiving partition applies a redelivered one once. Every key and value is checked
        /// here, so a delivery never fails where it lands and the call is never half delivered.
        func deliveries(_ delivery: ProcedureDeclaration.Delivery, scope: [String: JSON], limits: Limits) throws(EddyError) -> [Emitted] {
            guard case .array(let elements) = try Self.evaluate(delivery.each, scope) else {
                throw EddyError(.expressionFailed, "'each' of a delivery to '\(delivery.table)' is not a list")
            }
            guard elements.count <= limits.deliveriesMax else {
                throw EddyError(.batchTooLarge, "a delivery to '\(delivery.table)' would send \(elements.count) puts; the maximum is \(limits.deliveriesMax)")
            }
            var scope = scope
            var emitted: [Emitted] = []
            for (index, element) in elements.enumerated() {
                scope[delivery.element] = element
                let key = try Self.key(delivery.key, table: delivery.table, scope, partition: nil, partitioner)
                guard key.utf8.count <= limits.keyBytesMax else {
                    throw EddyError(.keyTooLong, "a delivery to '\(delivery.table)' has a key of \(key.utf8.count) bytes; the maximum is \(limits.keyBytesMax)")
                }
                let value = try Self.value(delivery.value, scope, what: "a delivery to '\(delivery.table)'", limits: limits)
                let event = Event(id: Event.derivedID(id, "deliver-\(index)"), op: .put, table: delivery.table, key: key, value: value)
                emitted.append(Emitted(partition: partitioner.partition(table: delivery.table, key: key), event: event))
            }
            return emitted
        }

        /// After stage `index` was rejected or undone: undo the newest earlier stage that
        /// has undo writes, or, when none is left, record the outcome.
        func next(afterUndoOf index: Int, _ progress: Progress) -> Emitted {
            if let earlier = procedure.stages[..<index].lastIndex(where: { !$0.undo.isEmpty }) {
                return stage(earlier, undo: true, progress)
            }
            return outcome(progress, error: progress.error)
        }

        /// The outcome record, a put into the procedure's outcome table keyed by the request ID.
        func outcome(_ progress: Progress, error: EddyError?) -> Emitted {
            var value: [String: JSON] = [
                "status": .string(error == nil ? "applied" : "rejected"),
                "procedure": .string(procedure.name),
                "input": input,
                "stages": .array(progress.done.map(JSON.string)),
            ]
            if let error { value["error"] = error.json }
            let event = Event(id: Event.derivedID(id, "outcome"), op: .put, table: procedure.outcomes, key: id, value: .object(value))
            return Emitted(partition: partitioner.partition(table: procedure.outcomes, key: id), event: event)
        }
    }
}
