public import EddyModel

/// A persistent join of one subscriber with a table's documents: one key, a key prefix, or
/// the whole table (an empty prefix). Created by `Engine.subscribe`; its messages go to its
/// outbox, which several subscriptions of one WebSocket may share.
///
/// The filter is a value the hub matches changes against; a named query's or a derived
/// view's results can be subscribed to the same way once they are written as changes to a
/// table of their own.
public final class Subscription: Sendable {
    /// The subscribe event's ID: the client's, or one the server assigned.
    public let id: String
    public let table: String
    /// Set for a one-key subscription.
    public let key: String?
    /// The key prefix, for a prefix or whole-table subscription (empty = whole table).
    public let prefix: [UInt8]
    /// The partitions that can hold matching keys.
    public let partitions: [Int]
    /// Where to resume after, or nil for a snapshot first.
    public let from: Position?
    public let outbox: SubscriptionOutbox
    /// The hub's handle.
    let handle: UInt64

    init(id: String, event: Event, partitions: [Int], outbox: SubscriptionOutbox, handle: UInt64) {
        self.id = id
        self.table = event.table
        self.key = event.key
        self.prefix = Array((event.prefix ?? "").utf8)
        self.partitions = partitions
        self.from = event.from
        self.outbox = outbox
        self.handle = handle
    }

    func matches(table: String, key: String) -> Bool {
        guard table == self.table else { return false }
        if let own = self.key { return own == key }
        return key.utf8.starts(with: prefix)
    }
}
