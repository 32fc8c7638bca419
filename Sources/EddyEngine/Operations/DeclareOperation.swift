import EddyModel

/// `declare`: records a new version of the declarations in partition 0, as a document of the
/// reserved table `@declarations` keyed by the record's offset (the version). Being state,
/// it is recovered, audited and read at start-up like any document; the engine starts using
/// the version once the record is durable.
enum DeclareOperation {
    /// Reserved: clients cannot name it (table names are a-z, 0-9, _).
    static let table = "@declarations"

    static func handle(_ event: Event, state: StateView) -> Handled {
        let value: JSON = ["source": .string(event.source ?? "")]
        return Handled(outcome: .applied([Change(table: table, key: versionKey(state.currentOffset), value: value.serialized())]), answer: nil)
    }

    /// Zero-padded, so versions sort in order as keys.
    static func versionKey(_ version: UInt64) -> String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}
