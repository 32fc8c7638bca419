public import EddyModel

/// What a subscriber receives, in order.
public enum SubscriptionMessage: Sendable {
    /// A document of the snapshot, or a change after it.
    case change(SubscriptionChange)
    /// The subscription ended (its cursor expired, its partition stopped); nothing follows.
    case ended(subscription: String, EddyError)
    /// Nothing happened for a while; keeps idle connections and proxies open.
    case heartbeat
    /// The result of an event sent on the same connection (WebSocket), as JSON.
    case reply([UInt8])
}

/// One document as it became at one offset: a snapshot entry or a change.
public struct SubscriptionChange: Sendable, Equatable {
    public var subscription: String
    /// Resume after this message: a position token naming, per partition, the offset through
    /// which this subscriber has been sent everything that matches.
    public var cursor: String
    /// What the change is, shared by every subscriber it goes to.
    public let body: Body

    /// The part of a change that is the same for every subscriber, rendered once.
    public final class Body: Sendable, Equatable {
        /// "snapshot" for the state at subscribe time, otherwise the op that made the change
        /// (put, patch, incr, insert, delete).
        public let kind: String
        public let table: String
        public let key: String
        /// The document's canonical JSON after the change; nil when deleted.
        public let value: [UInt8]?
        /// The ID of the write that produced it (server-assigned IDs start with "@").
        public let event: String?
        /// `,"kind":…,"table":…,"key":…,"value":…,"event":…}`: the JSON after the
        /// per-subscriber fields.
        let tail: [UInt8]

        public init(kind: String, table: String, key: String, value: [UInt8]?, event: String?) {
            self.kind = kind
            self.table = table
            self.key = key
            self.value = value
            self.event = event
            var out: [UInt8] = []
            out.reserveCapacity(64 + (value?.count ?? 4))
            out.append(contentsOf: #","kind":"#.utf8)
            JSON.writeString(kind, into: &out)
            out.append(contentsOf: #","table":"#.utf8)
            JSON.writeString(table, into: &out)
            out.append(contentsOf: #","key":"#.utf8)
            JSON.writeString(key, into: &out)
            out.append(contentsOf: #","value":"#.utf8)
            out.append(contentsOf: value ?? Array("null".utf8))
            if let event {
                out.append(contentsOf: #","event":"#.utf8)
                JSON.writeString(event, into: &out)
            }
            out.append(UInt8(ascii: "}"))
            tail = out
        }

        public static func == (lhs: Body, rhs: Body) -> Bool { lhs.tail == rhs.tail }
    }

    public init(subscription: String, cursor: String, body: Body) {
        self.subscription = subscription
        self.cursor = cursor
        self.body = body
    }

    public var kind: String { body.kind }
    public var table: String { body.table }
    public var key: String { body.key }
    public var value: [UInt8]? { body.value }
    public var event: String? { body.event }
    /// The JSON after the cursor and its closing quote, from `,"kind":` to the closing brace:
    /// the part shared by every subscriber.
    public var jsonTail: [UInt8] { body.tail }

    /// `{"subscription":…,"cursor":…,"kind":…,"table":…,"key":…,"value":…,"event":…}`, with
    /// the stored document spliced in as is.
    public var json: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    /// A change's JSON is this prefix, the cursor, a quote and `jsonTail`. The cursor is a
    /// position token (digits, ':' and ','), so it is written as is. Writers that send many
    /// changes of one subscription render the prefix once (`SubscribeStream`).
    public static func writeJSONPrefix(subscription: String, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"subscription":"#.utf8)
        JSON.writeString(subscription, into: &out)
        out.append(contentsOf: #","cursor":""#.utf8)
    }

    public func write(into out: inout [UInt8]) {
        out.reserveCapacity(out.count + 48 + subscription.utf8.count + cursor.utf8.count + body.tail.count)
        Self.writeJSONPrefix(subscription: subscription, into: &out)
        out.append(contentsOf: cursor.utf8)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: body.tail)
    }
}

extension SubscriptionMessage {
    /// The message as one JSON object (heartbeats are `{"heartbeat":true}`).
    public var json: [UInt8] {
        switch self {
        case .change(let change):
            return change.json
        case .ended(let subscription, let error):
            let object: JSON = ["subscription": .string(subscription), "ok": false, "error": error.json]
            return object.serialized()
        case .heartbeat:
            return Array(#"{"heartbeat":true}"#.utf8)
        case .reply(let body):
            return body
        }
    }
}

/// How far behind one subscription is, for `/metrics`.
public struct SubscriptionLag: Sendable {
    public var subscription: String
    /// Durable log records of its partitions it has not been sent yet.
    public var records: UInt64
    /// Whether it reads the change log instead of being pushed to live.
    public var catchingUp: Bool
    /// Messages in its connection's buffer, not yet written to the socket.
    public var buffered: Int
    /// Changes sent to it so far.
    public var delivered: UInt64
}
