public import EddyModel

/// A result for the client: its bytes and what the HTTP layer needs to pick a status.
public struct EventResult: Sendable {
    /// The canonical JSON result object.
    public var body: [UInt8]
    /// Set when the event failed or was rejected.
    public var error: EddyError?
    /// True when this answers a retry from the stored outcome of the first attempt.
    public var replayed: Bool
    /// For the engine only: the outcome behind the result (a fan-out reads a part's
    /// sources from it), and the events it emitted, to deliver once it is durable.
    var outcome: Outcome? = nil
    var emitted: [Emitted] = []
    /// For the engine only: a `get`'s answer as canonical JSON (`null` when absent), so a
    /// fan-out takes its part without parsing the rendered body.
    var document: [UInt8]? = nil

    public init(body: [UInt8], error: EddyError?, replayed: Bool = false) {
        self.body = body
        self.error = error
        self.replayed = replayed
    }

    /// A failure that happened before the event reached its partition's log.
    public static func failure(_ error: EddyError, id: String?) -> EventResult {
        var writer = JSONObjectWriter()
        writer.error(error)
        if let id { writer.string("id", id) }
        writer.bool("ok", false)
        return EventResult(body: writer.finish(), error: error)
    }
}
