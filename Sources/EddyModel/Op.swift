/// What an event asks for.
public enum Op: String, Sendable, CaseIterable {
    case put, patch, incr, delete, insert, get, scan
    /// Opens a subscription: a snapshot of the matching documents, then every later change.
    /// Only over a streaming connection (SSE or WebSocket).
    case subscribe

    /// Whether the op may change state. Writes are synced before they are acknowledged;
    /// reads ride along with the next sync.
    public var isWrite: Bool {
        switch self {
        case .put, .patch, .incr, .delete, .insert: true
        case .get, .scan, .subscribe: false
        }
    }
}
