import EddyModel

/// One partition's part of a `scan`: its documents of the table under the prefix, in key
/// order. The router sends a part to every partition and merges the parts.
enum ScanOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        let page = try state.scan(table: event.table, prefix: event.prefix ?? "", limit: event.limit ?? limits.scanLimitDefault)
        let answer = Answer.items(page.items.map { ($0.key, $0.value.json) }, more: page.more)
        let sources = page.items.map { ReadRecord.Source(table: event.table, key: $0.key, producedAt: $0.value.producedAt) }
        return Handled(outcome: .read(GetOperation.readRecord(event, answer, sources: sources)), answer: answer)
    }
}
