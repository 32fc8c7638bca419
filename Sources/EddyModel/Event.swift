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
}
