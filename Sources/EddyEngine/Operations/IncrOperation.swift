import EddyModel

/// `incr`: add `by` to a numeric top-level field of an object document. A missing document
/// starts as `{}` and a missing field as 0, so counters need no setup.
enum IncrOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        let field = event.field!
        var object: [String: JSON] = [:]
        if let stored = try state.get(table: event.table, key: event.key!) {
            guard case .object(let existing) = try document(stored, event, partition: state.partition) else {
                return rejected(.notAnObject, "document '\(event.key!)' in table '\(event.table)' is not an object, so it has no field to increment")
            }
            object = existing
        }
        let current: Double
        switch object[field] {
        case nil, .null?: current = 0
        case .number(let number)?: current = number
        case let other?: return rejected(.notANumber, "field '\(field)' of '\(event.key!)' is \(other.typeName), not a number")
        }
        let sum = current + event.amount!
        guard sum.isFinite else { return rejected(.notANumber, "field '\(field)' would overflow") }
        object[field] = .number(sum)
        return applied(event, JSON.object(object).serialized())
    }
}
