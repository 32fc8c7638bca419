import EddyThreads
import Foundation
import NIOCore

/// The least a design that keeps storage off the event loops must pay per request: the hop
/// from an event loop to a thread of its own and back, with both directions batched as well
/// as they can be. Event loops append to one queue and wake the thread only when it sleeps;
/// the thread takes everything queued at once and answers it with one `execute` per event
/// loop, not one per request.
///
/// `TransportFloor` serves through it when asked (`eddy bench floor --handoff`), so the load
/// tool can tell what that hop costs apart from everything else Eddy does. Not Eddy's own
/// `Inbox`: that one signals on every offer and belongs to the engine; this floor must pay
/// the least a hop can cost, and depends on nothing of Eddy's.
final class HandoffThread: @unchecked Sendable {
    // Why unchecked: `pending` and `sleeping` are guarded by `condition`'s lock.
    struct Handoff {
        let eventLoop: any EventLoop
        let deliver: @Sendable () -> Void
    }

    private let condition = NSCondition()
    private var pending: [Handoff] = []
    private var sleeping = false
    /// The most requests queued at once: the floor's clients hold one request each, so this
    /// is far above any load the tool applies, and reaching it is a bug.
    static let pendingMax = 1 << 16

    init() {
        NamedThread.start("eddy-handoff") { [self] in run() }
    }

    /// Queues `handoff.deliver` to run on its event loop once the thread has taken it.
    func hand(_ handoff: Handoff) {
        condition.lock()
        precondition(pending.count < Self.pendingMax, "floor handoffs exceed their bound")
        pending.append(handoff)
        let wake = sleeping
        sleeping = false  // one signal wakes it; the producers after this one need not signal
        condition.unlock()
        if wake { condition.signal() }
    }

    private func run() {
        var taken: [Handoff] = []
        while true {
            condition.lock()
            while pending.isEmpty {
                sleeping = true
                condition.wait()
                sleeping = false
            }
            swap(&taken, &pending)
            condition.unlock()
            deliver(taken)
            taken.removeAll(keepingCapacity: true)
        }
    }

    /// Runs each delivery on its event loop, with one `execute` per loop.
    private func deliver(_ handoffs: [Handoff]) {
        var byLoop: [(eventLoop: any EventLoop, deliveries: [@Sendable () -> Void])] = []
        for handoff in handoffs {
            if let index = byLoop.firstIndex(where: { $0.eventLoop === handoff.eventLoop }) {
                byLoop[index].deliveries.append(handoff.deliver)
            } else {
                byLoop.append((handoff.eventLoop, [handoff.deliver]))
            }
        }
        for (eventLoop, deliveries) in byLoop {
            eventLoop.execute { for deliver in deliveries { deliver() } }
        }
    }
}
