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
