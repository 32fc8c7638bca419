import EddyModel

/// Renders results from outcomes, deterministically, so a retry gets the same bytes.
enum ResultRenderer {
    /// The result of a single-partition event, from its outcome. Used for the first answer
    /// and, from the log record, for every retry.
    static func render(id: String?, event: Event, outcome: Outcome, answer: Answer?, position: Position) -> EventResult {
        var writer = JSONObjectWriter()
        switch outcome {
        case .rejected(let error):
            writer.error(error)
            if let id { writer.string("id", id) }
            writer.bool("ok", false)
            writer.string("position", position.token)
            return EventResult(body: writer.finish(), error: error)
        case .applied(let changes):
            if event.op == .delete { writer.bool("deleted", !changes.isEmpty) }
            if let id { writer.string("id", id) }
            writer.bool("ok", true)
            writer.string("position", position.token)
            // Computed documents are returned; put and insert echo nothing the client did not send.
            if event.op == .patch || event.op == .incr, let value = changes.first?.value {
                writer.raw("value", value)
            }
        case .read(let record):
            // The answer is live on the first attempt and comes from the record on a retry.
            let value: [UInt8]
            switch answer {
            case .document(let document)?: value = document ?? Array("null".utf8)
            case .items?: preconditionFailure("a scan part is merged by the engine, never rendered alone")
            case nil:
                guard let stored = record.answer else { preconditionFailure("read rendered without its answer") }
                value = stored
            }
            if !event.op.spansPartitions { writer.bool("found", (record.sources.first?.producedAt ?? 0) != 0) }
            if let id { writer.string("id", id) }
            writer.bool("ok", true)
            writer.string("position", position.token)
            writer.raw("value", value)
        }
        return EventResult(body: writer.finish(), error: nil)
    }

    /// The result of a scan merged from its partitions' parts.
    static func renderScan(id: String?, items: [(key: String, value: [UInt8])], more: Bool, position: Position) -> EventResult {
        var writer = JSONObjectWriter(capacity: 64 + items.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 20 })
        if let id { writer.string("id", id) }
        var list: [UInt8] = []
        Answer.writeItems(items, into: &list)
        writer.raw("items", list)
        writer.bool("more", more)
        writer.bool("ok", true)
        writer.string("position", position.token)
        return EventResult(body: writer.finish(), error: nil)
    }
}
