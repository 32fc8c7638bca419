import EddyLog
import EddyModel

/// What one partition's committed group means for subscribers, in log order: the changes it
/// applied and the subscriptions it attached. Built by the operator, handed to the hub by
/// the worker after the commit, and dispatched once that commit is durable, so subscribers
/// only ever see changes that survive a crash.
struct FeedEntry: Sendable {
    var partition: Int
    /// The group's last offset: once dispatched, everything through it has been offered to
    /// the live subscribers of this partition.
    var lastOffset: UInt64
    var items: [FeedItem]
    /// Nil when nothing waits for a sync (durability `async`).
    var ticket: DurabilityTicket?

    /// The number of changes it carries, which is what the feed bounds.
    var changeCount: Int {
        items.reduce(0) { count, item in
            if case .write(_, _, _, let changes) = item { return count + changes.count }
            return count
        }
    }
}

enum FeedItem: Sendable {
    /// A write that applied `changes` at `offset`.
    case write(offset: UInt64, op: Op, event: String, changes: [Change])
    /// A subscribe event at `offset`: with a snapshot (the matching documents at that
    /// offset), or nil to resume from the subscription's cursor by reading the log.
    case attach(offset: UInt64, subscription: Subscription, snapshot: [(key: String, value: [UInt8])]?)
}
