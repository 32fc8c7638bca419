/// One request, as it travels through Eddy and as it is stored in the log.
///
/// Every field a client may send is here; which ones an op needs is checked by
/// `Event.init(json:limits:)`. Events are plain values so they cross threads freely.
public struct Event: Sendable, Equatable {
    /// The client's request ID and idempotency key. Nil until the server assigns one.
    public var id: String?
    public var op: Op
    public var table: String
    /// The document key, for single-key ops.
    public var key: String?
    /// The document for put and insert, the merge patch for patch.
    public var value: JSON?
    /// The numeric field incr adds to, and the amount.
    public var field: String?
    public var amount: Double?
    /// Scan bounds.
    public var prefix: String?
    public var limit: Int?
    /// Who is reading; kept in read records for provenance.
    public var client: String?
    /// Wait until these offsets are applied before handling the event.
    public var after: Position?
    /// IDs of events (usually reads) this one depended on.
    public var causedBy: [String]
    /// For subscribe: the cursor to resume after, instead of taking a snapshot.
    public var from: Position?
    /// The declared query or procedure a `query` or `call` names.
    public var name: String?
    /// The input of a query or procedure call.
    public var input: JSON?
    /// The documents a `multiget` reads.
    public var keys: [TableKey] = []
    /// Set by the server only: the looked-up documents a query combines, so its logged
    /// record alone re-derives the answer.
    public var parts: JSON?
    /// Set by the server only: which stage of a procedure call this event runs, and what
    /// the stages before it did.
    public var progress: JSON?
    /// A `declare`'s declarations, in the configuration file's format.
    public var source: String?
    /// Set by the server only: the declarations version a query or call ran with (the
    /// offset of the `declare` record that made it; 0 is the configuration file's).
    public var version: UInt64?

    public init(
        id: String? = nil, op: Op, table: String, key: String? = nil, value: JSON? = nil,
        field: String? = nil, amount: Double? = nil, prefix: String? = nil, limit: Int? = nil,
        client: String? = nil, after: Position? = nil, causedBy: [String] = [], from: Position? = nil
    ) {
        self.id = id
        self.op = op
        self.table = table
        self.key = key
        self.value = value
        self.field = field
        self.amount = amount
        self.prefix = prefix
        self.limit = limit
        self.client = client
        self.after = after
        self.causedBy = causedBy
        self.from = from
    }

    /// IDs starting with this character are assigned by the server; clients may not use them,
    /// so a client ID can never collide with one the server made up.
    public static let serverIDMarker: Character = "@"

    /// Joins a request ID to the name of an event derived from it ("t1/@credit"). Clients
    /// may not use it in their IDs, so a derived ID names exactly one stage of one request.
    public static let derivedIDSeparator = "/@"

    public static func derivedID(_ id: String, _ part: String) -> String {
        id + derivedIDSeparator + part
    }

    /// The request ID an ID was derived from, or nil if it was not derived.
    public static func requestID(ofDerived id: String) -> String? {
        let bytes = Array(id.utf8)
        var index = bytes.count - 2
        while index >= 0 {
            if bytes[index] == UInt8(ascii: "/"), bytes[index + 1] == UInt8(ascii: "@") {
                return String(decoding: bytes[..<index], as: UTF8.self)
            }
            index -= 1
        }
        return nil
    }
}

/// A document's address: its table and key.
public struct TableKey: Sendable, Equatable {
    public var table: String
    public var key: String

    public init(table: String, key: String) {
        self.table = table
        self.key = key
    }
}
