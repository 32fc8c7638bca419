import EddyModel

/// `delete`: remove the document. Deleting an absent key succeeds and changes nothing.
enum DeleteOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        guard try state.get(table: event.table, key: event.key!) != nil else {
            return Handled(outcome: .applied([]), answer: nil)
        }
        return applied(event, nil)
    }
}
