public import EddyModel

/// What handling an event did. Stored in its log record, so replay, audit, subscriptions and
/// provenance all read the same facts the client was answered from.
public enum Outcome: Sendable, Equatable {
    /// A write took effect; `changes` are the new documents (nil value = deleted).
    case applied([Change])
    /// The partition refused the event against its state (e.g. insert of an existing key).
    case rejected(EddyError)
    /// A one-off read and what it saw.
    case read(ReadRecord)

    /// Whether this is a read's outcome: the only records the read-record retention may prune.
    var isRead: Bool {
        if case .read = self { true } else { false }
    }
}

/// One document's new state.
public struct Change: Sendable, Equatable {
    public var table: String
    public var key: String
    /// Canonical JSON of the new document, or nil when it was deleted.
    public var value: [UInt8]?

    public init(table: String, key: String, value: [UInt8]?) {
        self.table = table
        self.key = key
        self.value = value
    }
}

/// The durable record of a one-off read: what it returned, compactly, and where that came from.
public struct ReadRecord: Sendable, Equatable {
    /// SHA-256 of the canonical answer, so an answer rebuilt later can be checked.
    public var digest: [UInt8]
    /// Each document the answer contains, and the offset of the write that produced it
    /// (0 when the key was absent).
    public var sources: [Source]
    /// The answer itself, kept only when the client chose the read's ID, so a retry with
    /// that ID returns the first answer byte for byte.
    public var answer: [UInt8]?

    public struct Source: Sendable, Equatable {
        public var table: String
        public var key: String
        public var producedAt: UInt64

        public init(table: String, key: String, producedAt: UInt64) {
            self.table = table
            self.key = key
            self.producedAt = producedAt
        }
    }

    public init(digest: [UInt8], sources: [Source], answer: [UInt8]?) {
        self.digest = digest
        self.sources = sources
        self.answer = answer
    }
}
