/// What an event asks for.
public enum Op: String, Sendable, CaseIterable {
    case put, patch, incr, delete, insert, get, scan
    /// Opens a subscription: a snapshot of the matching documents, then every later change.
    /// Only over a streaming connection (SSE or WebSocket).
    case subscribe
    /// A declared fan-out query, an ad-hoc read of several keys, a declared procedure.
    case query, multiget, call
    /// Adds or replaces declared queries and procedures at run time; logged, so replay and
    /// audit know which version of a declaration each query and call ran with.
    case declare

    /// Whether the op may change state. Writes are synced before they are acknowledged;
    /// reads ride along with the next sync.
    public var isWrite: Bool {
        switch self {
        case .put, .patch, .incr, .delete, .insert, .call, .declare: true
        case .get, .scan, .subscribe, .query, .multiget: false
        }
    }

    /// Whether the event names a query or procedure rather than one table: the engine
    /// routes it in pieces to the partitions it touches.
    public var spansPartitions: Bool {
        switch self {
        case .query, .multiget, .call, .declare: true
        default: false
        }
    }
}
