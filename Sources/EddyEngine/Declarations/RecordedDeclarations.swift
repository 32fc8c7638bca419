import EddyModel
import EddyStorage

/// The declaration versions recorded as documents of `@declarations` in partition 0's state
/// (`DeclareOperation`): read at start-up from live state, and by the audit from the state it
/// re-derives (or from the base snapshot it starts with, which holds the versions declared
/// in the part of the log that retention removed).
enum RecordedDeclarations {
    /// Every recorded version and its source, in version order.
    static func versions(in database: Database, family: String = StoreLayout.state) throws -> [(version: UInt64, source: String)] {
        let range = StoreLayout.stateRange(partition: 0, table: DeclareOperation.table, prefix: "")
        var recorded: [(UInt64, String)] = []
        try database.scan(database.columnFamily(family), from: range.start, to: range.end) { key, value in
            let versionKey = StoreLayout.documentKey(fromStateKey: key, tableLength: DeclareOperation.table.utf8.count)
            guard let version = UInt64(versionKey), let stored = StoredValue(encoded: Array(value)),
                  let source = (try? JSON(parsing: stored.json, maxDepth: 8))?["source"]?.stringValue
            else {
                throw DamagedState(partition: 0, table: DeclareOperation.table, key: versionKey)
            }
            recorded.append((version, source))
            return true
        }
        return recorded
    }
}
