import Foundation

/// A bounded queue from many producers (request handlers) to one consumer (a partition
/// operator thread). Producers never block: when it is full, `offer` says so and the client
/// gets 503 `overloaded`. The consumer blocks until work arrives.
final class Inbox<Item: Sendable>: @unchecked Sendable {
    // Why unchecked: all mutable state is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var items: [Item] = []
    private var head = 0
    private var closed = false
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "inbox capacity must be positive")
        self.capacity = capacity
    }

    enum OfferResult {
        case accepted, full, closed
    }

    /// Adds `item` unless the inbox is full or closed.
    func offer(_ item: Item) -> OfferResult {
        condition.lock()
        defer { condition.unlock() }
        if closed { return .closed }
        guard items.count - head < capacity else { return .full }
        items.append(item)
        condition.signal()
        return .accepted
    }

    /// Waits for at least one item and takes up to `max`. Returns empty only once closed and drained.
    func take(max: Int) -> [Item] {
        take(max: max, until: nil) ?? []
    }

    /// Waits for at least one item until `deadline` (nil: as long as it takes), and takes up
    /// to `max`: empty when the deadline passed first, nil once closed and drained. For
    /// consumers that also have work due by time (a worker's maintenance ticks).
    func take(max: Int, until deadline: Date?) -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head && !closed {
            // Not `wait(until: .distantFuture)`: Foundation on Linux traps converting it.
            guard let deadline else {
                condition.wait()
                continue
            }
            if !condition.wait(until: deadline) { break }
        }
        if items.count == head { return closed ? nil : [] }
        let end = min(items.count, head + max)
        let batch = Array(items[head..<end])
        head = end
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return batch
    }

    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count - head
    }

    /// Refuses further items; the consumer drains what is queued, then sees an empty batch.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
