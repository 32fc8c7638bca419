/// What an event asks for.
public enum Op: String, Sendable, CaseIterable {
    case put, patch, incr, delete, insert, get, scan

    /// Whether the op may change state. Writes are synced before they are acknowledged;
    /// reads ride along with the next sync.
    public var isWrite: Bool {
        switch self {
        case .put, .patch, .incr, .delete, .insert: true
        case .get, .scan: false
        }
    }
}
