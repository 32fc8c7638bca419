/// The maximums Eddy enforces on input. Every one is checked at the edge, before an event
/// reaches a partition, and each is documented in docs/API.md.
public struct Limits: Sendable, Equatable {
    /// Largest HTTP request body.
    public var bodyBytesMax: Int = 4 << 20
    /// Largest JSON value stored under one key, measured in its canonical form.
    public var valueBytesMax: Int = 1 << 20
    /// Longest key, in UTF-8 bytes.
    public var keyBytesMax: Int = 1024
    /// Longest request ID and client name, in UTF-8 bytes.
    public var idBytesMax: Int = 128
    /// Deepest nesting of arrays and objects in a request.
    public var jsonDepthMax: Int = 32
    /// The most `jsonDepthMax` may be configured to.
    public static let jsonDepthCeiling = 512
    /// How deep JSON that the server stored or built may be when it is read back: a log
    /// record's event, a stored document, a query's gathered parts, a reply. The deepest
    /// document a client can send (`jsonDepthCeiling`) inside the few containers the server
    /// wraps around it. Reading back with the client's limit would refuse records the server
    /// accepted: a partition would stop on a retry of its own deep record.
    public static let storedJSONDepthMax = jsonDepthCeiling + 32
    /// Most events in one batch request.
    public var batchEventsMax: Int = 1000
    /// Most items one scan returns, and the default when a scan names no limit.
    public var scanLimitMax: Int = 1000
    public var scanLimitDefault: Int = 100
    /// Most request IDs one event may name in `causedBy`.
    public var causedByMax: Int = 64
    /// Most puts one procedure call may `deliver` (one per element of its list); a longer
    /// list rejects the call with `batch_too_large`, before any of it is written.
    public var deliveriesMax: Int = 1000
    /// Most documents a subscription's snapshot may hold; a bigger one is refused with
    /// `snapshot_too_large` (subscribe to a narrower prefix, or resume `from` a cursor).
    public var subscriptionSnapshotMax: Int = 10_000

    public init() {}
}
