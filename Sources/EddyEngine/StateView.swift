import EddyStorage

/// A partition's documents as the event being handled must see them: the committed state
/// plus the writes of earlier events in the same group, which are not in RocksDB yet.
struct StateView {
    let database: Database
    let family: ColumnFamily
    let partition: Int
    /// State key → the staged document, or nil when staged as deleted.
    private(set) var pending: [[UInt8]: StoredValue?] = [:]
    /// Offset of the event being handled; staged writes record it as their producer.
    var currentOffset: UInt64 = 0

    /// A view of `family`: the live `state`, or the `base` snapshot, which has the same layout.
    init(database: Database, partition: Int, family: String = StoreLayout.state) {
        self.database = database
        self.family = database.columnFamily(family)
        self.partition = partition
    }

    func get(table: String, key: String) throws -> StoredValue? {
        let stateKey = StoreLayout.stateKey(partition: partition, table: table, key: key)
        if let staged = pending[stateKey] { return staged }
        guard let bytes = try database.get(family, key: stateKey) else { return nil }
        guard let value = StoredValue(encoded: bytes) else { throw DamagedState(partition: partition, table: table, key: key) }
        return value
    }

    /// Stages `change` as written by the current event and returns its state key.
    mutating func stage(_ change: Change) {
        let stateKey = StoreLayout.stateKey(partition: partition, table: change.table, key: change.key)
        let staged = change.value.map { StoredValue(producedAt: currentOffset, json: $0) }
        // `updateValue`, not subscript assignment: assigning nil would remove the entry and
        // let a later read see the committed value the delete just removed.
        pending.updateValue(staged, forKey: stateKey)
    }

    /// Stages `changes` as written by the current event and puts them into `batch` as the
    /// stored documents (with the producing offset) or deletions: the one way state changes
    /// reach a write batch, for the operator, recovery and the auditor alike.
    mutating func apply(_ changes: [Change], into batch: WriteBatch) {
        for change in changes {
            stage(change)
            let key = StoreLayout.stateKey(partition: partition, table: change.table, key: change.key)
            if let value = change.value {
                batch.put(family, key: key, value: StoredValue(producedAt: currentOffset, json: value).encoded())
            } else {
                batch.delete(family, key: key)
            }
        }
    }

    mutating func reset() {
        pending.removeAll(keepingCapacity: true)
    }

    /// Up to `limit` documents of `table` whose keys start with `prefix`, in key order, and
    /// whether more exist.
    func scan(table: String, prefix: String, limit: Int) throws -> (items: [(key: String, value: StoredValue)], more: Bool) {
        let range = StoreLayout.stateRange(partition: partition, table: table, prefix: prefix)
        let tableLength = table.utf8.count
        let stagedInRange = pending.filter { !$0.key.lexicographicallyPrecedes(range.start) && $0.key.lexicographicallyPrecedes(range.end) }
        // Staged deletes can hide committed keys, so read enough to still fill the page.
        let wanted = limit + 1 + stagedInRange.count
        var merged: [[UInt8]: StoredValue] = [:]
        var damaged: DamagedState? = nil
        try database.scan(family, from: range.start, to: range.end) { key, value in
            guard let stored = StoredValue(encoded: value) else {
                damaged = DamagedState(partition: partition, table: table, key: StoreLayout.documentKey(fromStateKey: key, tableLength: tableLength))
                return false
            }
            merged[Array(key)] = stored
            return merged.count < wanted
        }
        if let damaged { throw damaged }
        for (key, staged) in stagedInRange {
            merged[key] = staged
        }
        let ordered = merged.keys.sorted { $0.lexicographicallyPrecedes($1) }
        let page = ordered.prefix(limit).map { key in
            (key: key.withUnsafeBytes { StoreLayout.documentKey(fromStateKey: $0, tableLength: tableLength) }, value: merged[key]!)
        }
        return (page, ordered.count > limit)
    }
}

/// A state value that does not decode: the state file is damaged.
struct DamagedState: Error, CustomStringConvertible {
    var partition: Int
    var table: String
    var key: String
    var description: String { "stored value of \(table)/\(key) in partition \(partition) is damaged" }
}
