import EddyModel

/// `patch`: apply a JSON merge patch (RFC 7396). A missing document is patched as `{}`,
/// so patch also creates.
enum PatchOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        let current = try state.get(table: event.table, key: event.key!).map { try document($0, event, partition: state.partition) } ?? .object([:])
        let patched = current.mergePatched(with: event.value!).serialized()
        guard patched.count <= limits.valueBytesMax else {
            return rejected(.valueTooLarge, "patched document would be \(patched.count) bytes; the maximum is \(limits.valueBytesMax)")
        }
        return applied(event, patched)
    }
}
