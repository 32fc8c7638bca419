import EddyModel

/// `subscribe`, in one partition: the join of the subscribe event with the partition's state
/// at its place in the log. The matching documents are the snapshot; every change after this
/// offset follows it (see `SubscriptionHub`). A subscribe that resumes `from` a cursor takes no
/// snapshot: what it missed comes from the change log.
enum SubscribeOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        guard event.from == nil else { return snapshot([], sources: []) }
        if let key = event.key {
            let stored = try state.get(table: event.table, key: key)
            let source = ReadRecord.Source(table: event.table, key: key, producedAt: stored?.producedAt ?? 0)
            return snapshot(stored.map { [(key, $0.json)] } ?? [], sources: [source])
        }
        let page = try state.scan(table: event.table, prefix: event.prefix ?? "", limit: limits.subscriptionSnapshotMax)
        guard !page.more else {
            return rejected(.snapshotTooLarge, "more than \(limits.subscriptionSnapshotMax) documents of '\(event.table)' match; subscribe to a narrower prefix, or resume 'from' a cursor")
        }
        return snapshot(page.items.map { ($0.key, $0.value.json) }, sources: page.items.map {
            ReadRecord.Source(table: event.table, key: $0.key, producedAt: $0.value.producedAt)
        })
    }

    /// The snapshot as a read: its record names the writes behind each document. The answer
    /// itself is not kept (it can be large, and a subscription is not retried by ID).
    private static func snapshot(_ items: [(key: String, value: [UInt8])], sources: [ReadRecord.Source]) -> Handled {
        let answer = Answer.items(items, more: false)
        let record = GetOperation.readRecord(nil, answer, sources: sources)
        return Handled(outcome: .read(record), answer: answer)
    }
}
