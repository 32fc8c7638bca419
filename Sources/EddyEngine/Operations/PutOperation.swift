import EddyModel

/// `put`: store the document under the key, replacing whatever was there.
enum PutOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        applied(event, event.value!.serialized())
    }
}
