import EddyModel

/// `insert`: store the document only if the key is absent. Because a partition decides its
/// events one at a time, of concurrent inserts of one key exactly one wins; this is how
/// uniqueness (usernames) is claimed.
enum InsertOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        if try state.get(table: event.table, key: event.key!) != nil {
            return rejected(.conflict, "key '\(event.key!)' already exists in table '\(event.table)'")
        }
        return applied(event, event.value!.serialized())
    }
}
