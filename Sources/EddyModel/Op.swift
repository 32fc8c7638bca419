/// What an event asks for.
public enum Op: String, Sendable, CaseIterable {
    case put, patch, incr, delete, insert, get, scan
    /// Opens a subscription: a snapshot of the matching documents, then every later change.
    /// Only over a streaming connection (SSE or WebSocket).
    case subscribe
    /// A declared fan-out query, an ad-hoc read of several keys, a declared procedure.
    case query, multiget, call

    /// Whether the op may change state. Writes are synced before they are acknowledged;
    /// reads ride along with the next sync.
    public var isWrite: Bool {
        switch self {
        case .put, .patch, .incr, .delete, .insert, .call: true
        case .get, .scan, .subscribe, .query, .multiget: false
        }
    }

    /// Whether the event names a query or procedure rather than one table: the engine
    /// routes it in pieces to the partitions it touches.
    public var spansPartitions: Bool {
        switch self {
        case .query, .multiget, .call: true
        default: false
        }
    }
}
