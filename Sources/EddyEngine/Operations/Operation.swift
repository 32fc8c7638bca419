import EddyModel

/// What handling one event produced: its outcome (stored in the log) and, for reads, the
/// answer to send back.
struct Handled {
    var outcome: Outcome
    var answer: Answer?
    /// Events for other partitions (a procedure's next stage or its outcome), stored in the
    /// outbox with this event's record.
    var emits: [Emitted] = []
}

/// One kind of event's logic: a pure function of the event and the partition's state.
///
/// Pure so that replaying the log (recovery, audit) derives exactly what the live server did.
/// It never writes; the operator stages the returned changes.
protocol Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled
}

extension Operation {
    /// Parses a stored document; the state family only holds canonical JSON the engine wrote,
    /// so a failure here means damaged state.
    static func document(_ stored: StoredValue, _ event: Event, partition: Int) throws -> JSON {
        do {
            return try JSON(parsing: stored.json, maxDepth: Limits.storedJSONDepthMax)
        } catch {
            throw DamagedState(partition: partition, table: event.table, key: event.key ?? "")
        }
    }

    static func rejected(_ code: EddyError.Code, _ message: String) -> Handled {
        Handled(outcome: .rejected(EddyError(code, message)), answer: nil)
    }

    static func applied(_ event: Event, _ value: [UInt8]?) -> Handled {
        Handled(outcome: .applied([Change(table: event.table, key: event.key!, value: value)]), answer: nil)
    }
}
