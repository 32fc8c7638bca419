import EddyModel

/// What a partition operator sends back for one piece of work.
enum PartitionReply: Sendable {
    /// The finished result of a single-partition event.
    case result(EventResult)
    /// One partition's part of a scan, for the engine to merge.
    case scanPart(ScanPart)
    /// A subscribe event's part: attached at this offset (its snapshot goes to the outbox).
    case subscribed(offset: UInt64)
    /// The event never reached the log (partition down, shutting down).
    case failure(EddyError)
}

struct ScanPart: Sendable {
    var items: [(key: String, value: [UInt8])]
    var more: Bool
    var offset: UInt64
}

/// One event queued for a partition, with where to send its reply.
struct PartitionWork: Sendable {
    var partition: Int
    var event: Event
    /// For a subscribe event: the subscription to attach.
    var subscription: Subscription? = nil
    var reply: @Sendable (PartitionReply) -> Void
}

/// A piece of work with its reply, held until the round that handled it may answer (once
/// durable, for a round with writes).
///
/// A named struct, not a tuple: arrays of tuples are copied and destroyed through generic
/// runtime metadata, which showed up in profiles of the reply path.
struct AnsweredWork: Sendable {
    let work: PartitionWork
    let reply: PartitionReply

    func send() {
        work.reply(reply)
    }
}
