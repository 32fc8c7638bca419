public import EddyStorage

/// A position in one partition's log. Offsets start at 1; 0 means "before the first record".
public typealias Offset = UInt64

/// One record read back from a partition log, already verified.
public struct LogEntry: Sendable, Equatable {
    public let offset: Offset
    /// The engine's encoded event and effect. The log never looks inside. Nil once the record
    /// was pruned: its place in the chain is kept, its contents are gone.
    public let payload: [UInt8]?
    /// The record's chain hash (see `HashChain`).
    public let hash: [UInt8]
    /// Whether the writer staged it as prunable (see `StagedRecord`).
    public let prunable: Bool

    public init(offset: Offset, payload: [UInt8]?, hash: [UInt8], prunable: Bool = false) {
        self.offset = offset
        self.payload = payload
        self.hash = hash
        self.prunable = prunable
    }

    public var isPruned: Bool { payload == nil }
}

/// A record to append, and whether it may later be pruned.
///
/// Why the writer says so at staging time: the mark is covered by the record's chain hash,
/// so nothing can later turn a record that was not staged prunable into a stub (dropping,
/// say, a write) without breaking the chain. The log knows nothing of what the payload
/// means; the engine marks its read records.
public struct StagedRecord: Sendable, Equatable {
    public var payload: [UInt8]
    public var prunable: Bool

    public init(_ payload: [UInt8], prunable: Bool = false) {
        self.payload = payload
        self.prunable = prunable
    }
}

/// The durable, ordered, hash-chained log of one partition.
///
/// This is the narrow interface the engine depends on, with `LogStore`. The embedded
/// implementation keeps records in the partition store's RocksDB; a distributed log (NATS
/// JetStream) can stand behind the same calls. The one place the local store shows through
/// is the `WriteBatch`: whatever the log is, the contract is that state writes reach the
/// local store only together with, or after, the records they derive from, so a crash leaves
/// the state at or behind the log, never ahead of it, and recovery replays the gap.
///
/// A log is used by one operator thread at a time; it is not Sendable.
public protocol PartitionLog: AnyObject {
    /// The partition this log belongs to.
    var partition: Int { get }

    /// The offset the next staged record will get.
    var nextOffset: Offset { get }

    /// The first offset still held (records before it were removed by retention).
    var firstOffset: Offset { get }

    /// The hash of the last record, or the partition's genesis hash when empty.
    var lastHash: [UInt8] { get }

    /// The hash the record at `firstOffset` links to: the partition's genesis hash while
    /// nothing was removed, else that of the last record retention removed. Whoever keeps
    /// what the removed records derived (the engine's base snapshot) ties it to this hash.
    func hashBeforeFirstOffset() throws -> [UInt8]

    /// Adds `records` as the next records to `batch`, in order, and returns their offsets
    /// (an empty range when `records` is empty). The caller puts the state writes derived
    /// from them into the same batch and writes it with `LogStore.commit`; until then the
    /// records are neither readable nor durable. If that commit fails the log must not be
    /// used again: its tail has moved past records that were never written.
    func stage(_ records: [StagedRecord], into batch: WriteBatch) -> Range<Offset>

    /// Up to `limit` records from `offset` on, each verified against its hash and the
    /// chain link to the record before it. Throws `LogError.corrupt` on any mismatch.
    /// Pruned records come back as entries without a payload, verified like any other.
    func read(from offset: Offset, limit: Int) throws -> [LogEntry]

    /// Removes every record before `offset` (retention). The chain stays verifiable from the
    /// first record kept on.
    func truncate(before offset: Offset) throws

    /// Puts into `batch` the replacement of each record at `offsets` by a stub that keeps its
    /// place in the chain (its hash, its prunable mark and a digest of its payload, so the
    /// stub itself still verifies) but not its payload. Each record is verified first, so a
    /// damaged record is reported, never pruned. Records already pruned are left as they
    /// are. Every offset must be retained (`firstOffset..<nextOffset`) and name a record
    /// staged as prunable: anything else is a programmer error. Returns how many records
    /// the batch prunes; they are pruned once it is written.
    func prune(_ offsets: [Offset], into batch: WriteBatch) throws -> Int
}

/// Where partition logs are kept and committed: one per data directory.
///
/// Group commit lives here. `commit` writes a batch that may hold the staged records and
/// state writes of many partitions, atomically, without waiting for the disk; `whenDurable`
/// answers once a sync covers it, and one sync answers many commits.
public protocol LogStore: AnyObject, Sendable {
    /// Opens the log of `partition`, verifying its tail.
    func openLog(partition: Int) throws -> any PartitionLog

    /// Writes `batch` atomically; its records become readable. With `durable`, the returned
    /// ticket is this write's; without it (read records), the ticket is that of the last
    /// durable write, and this write becomes durable with the next one.
    func commit(_ batch: WriteBatch, durable: Bool) throws -> DurabilityTicket

    /// Up to `limit` committed records of `partition` from `offset` on, verified like
    /// `PartitionLog.read`. Unlike that, safe on any thread while the partition's operator
    /// appends: subscribers catching up read here. Returns fewer (or none) at the end of what
    /// is committed; throws `LogError.truncated` when `offset` is before what is retained.
    func read(partition: Int, from offset: Offset, limit: Int) throws -> [LogEntry]

    /// Calls `done` once everything up to `ticket` is on disk: at once if it already is,
    /// otherwise later from another thread.
    func whenDurable(_ ticket: DurabilityTicket, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void)
}

/// A position in the store's stream of commits, for `LogStore.whenDurable`.
public struct DurabilityTicket: Sendable, Comparable {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

extension PartitionLog {
    /// Stages records that may never be pruned.
    public func stage(_ payloads: [[UInt8]], into batch: WriteBatch) -> Range<Offset> {
        stage(payloads.map { StagedRecord($0) }, into: batch)
    }
}

extension LogStore {
    /// Stages `payloads` in `log` and commits them with `stateWrites` in one call: the
    /// single-partition form of stage-then-commit.
    @discardableResult
    public func append(to log: any PartitionLog, _ payloads: [[UInt8]], with stateWrites: WriteBatch, durable: Bool) throws -> Range<Offset> {
        try append(to: log, records: payloads.map { StagedRecord($0) }, with: stateWrites, durable: durable)
    }

    @discardableResult
    public func append(to log: any PartitionLog, records: [StagedRecord], with stateWrites: WriteBatch, durable: Bool) throws -> Range<Offset> {
        let offsets = log.stage(records, into: stateWrites)
        _ = try commit(stateWrites, durable: durable)
        return offsets
    }

    /// Waits for the durability of everything committed so far (tests, tools).
    public func whenAllDurable(_ done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        do {
            whenDurable(try commit(WriteBatch(), durable: true), done)
        } catch {
            done(.failure(error))
        }
    }
}
