public import EddyStorage

/// A position in one partition's log. Offsets start at 1; 0 means "before the first record".
public typealias Offset = UInt64

/// One record read back from a partition log, already verified.
public struct LogEntry: Sendable, Equatable {
    public let offset: Offset
    /// The engine's encoded event and effect. The log never looks inside.
    public let payload: [UInt8]
    /// SHA-256 over the previous record's hash, this offset and the payload.
    public let hash: [UInt8]

    public init(offset: Offset, payload: [UInt8], hash: [UInt8]) {
        self.offset = offset
        self.payload = payload
        self.hash = hash
    }
}

/// The durable, ordered, hash-chained log of one partition.
///
/// This is the narrow interface the engine depends on. The embedded implementation keeps
/// records in the partition store's RocksDB; a distributed log (NATS JetStream) can stand
/// behind the same calls. The one place the local store shows through is `stateWrites`:
/// whatever the log is, the contract is that those writes reach the local store only
/// together with, or after, the records they derive from, so a crash leaves the state at
/// or behind the log, never ahead of it, and recovery replays the gap.
///
/// A log is used by one partition operator thread at a time; it is not Sendable.
/// Acknowledging only after `whenDurable` is the caller's job.
public protocol PartitionLog: AnyObject {
    /// The partition this log belongs to.
    var partition: Int { get }

    /// The offset the next appended record will get.
    var nextOffset: Offset { get }

    /// The first offset still held (records before it were removed by retention).
    var firstOffset: Offset { get }

    /// The hash of the last record, or the partition's genesis hash when empty.
    var lastHash: [UInt8] { get }

    /// Writes `payloads` as the next records, in order, atomically with `stateWrites`, and
    /// returns their offsets (an empty range when `payloads` is empty). They are readable at
    /// once. With `durable`, they count for `whenDurable`; records appended without it (read
    /// records) become durable with the next durable append, so they never need a sync of
    /// their own.
    @discardableResult
    func append(_ payloads: [[UInt8]], with stateWrites: WriteBatch, durable: Bool) throws -> Range<Offset>

    /// Calls `done` once every record appended with `durable` so far is on disk: at once if
    /// it already is, otherwise later from another thread. Group commit lives here: one sync
    /// answers many appends.
    func whenDurable(_ done: @escaping @Sendable (Result<Void, any Error>) -> Void)

    /// Up to `limit` records from `offset` on, each verified against its hash and the
    /// chain link to the record before it. Throws `LogError.corrupt` on any mismatch.
    func read(from offset: Offset, limit: Int) throws -> [LogEntry]

    /// Removes every record before `offset` (retention). The chain stays verifiable from the
    /// first record kept on.
    func truncate(before offset: Offset) throws
}
