public import EddyModel

/// Builds a result object's bytes field by field, splicing stored JSON in without reparsing.
///
/// Callers add fields in alphabetical order, which is the canonical order: a result rebuilt
/// later from the log (a retry) is the same bytes as the first one.
struct ResultWriter {
    private(set) var bytes: [UInt8]
    private var first = true

    init(capacity: Int = 96) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func name(_ name: StaticString) {
        bytes.append(first ? UInt8(ascii: "\"") : UInt8(ascii: ","))
        if !first { bytes.append(UInt8(ascii: "\"")) }
        first = false
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func string(_ field: StaticString, _ value: String) {
        name(field)
        JSON.writeString(value, into: &bytes)
    }

    mutating func bool(_ field: StaticString, _ value: Bool) {
        name(field)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Already-serialized JSON, spliced verbatim.
    mutating func raw(_ field: StaticString, _ json: [UInt8]) {
        name(field)
        bytes.append(contentsOf: json)
    }

    mutating func error(_ error: EddyError) {
        name("error")
        error.json.serialize(into: &bytes)
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

/// A result for the client: its bytes and what the HTTP layer needs to pick a status.
public struct EventResult: Sendable {
    /// The canonical JSON result object.
    public var body: [UInt8]
    /// Set when the event failed or was rejected.
    public var error: EddyError?
    /// True when this answers a retry from the stored outcome of the first attempt.
    public var replayed: Bool

    public init(body: [UInt8], error: EddyError?, replayed: Bool = false) {
        self.body = body
        self.error = error
        self.replayed = replayed
    }

    /// A failure that happened before the event reached its partition's log.
    public static func failure(_ error: EddyError, id: String?) -> EventResult {
        var writer = ResultWriter()
        writer.error(error)
        if let id { writer.string("id", id) }
        writer.bool("ok", false)
        return EventResult(body: writer.finish(), error: error)
    }
}

enum ResultRenderer {
    /// The result of a single-partition event, from its outcome. Used for the first answer
    /// and, from the log record, for every retry.
    static func render(id: String?, event: Event, outcome: Outcome, answer: Answer?, position: Position) -> EventResult {
        var writer = ResultWriter()
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
            writer.bool("found", (record.sources.first?.producedAt ?? 0) != 0)
            if let id { writer.string("id", id) }
            writer.bool("ok", true)
            writer.string("position", position.token)
            writer.raw("value", value)
        }
        return EventResult(body: writer.finish(), error: nil)
    }

    /// The result of a scan merged from its partitions' parts.
    static func renderScan(id: String?, items: [(key: String, value: [UInt8])], more: Bool, position: Position) -> EventResult {
        var writer = ResultWriter(capacity: 64 + items.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 20 })
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
