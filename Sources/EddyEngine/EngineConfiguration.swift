public import EddyModel
public import EddyStorage
import Foundation

/// Everything the engine needs to run. Plain values with defaults; each field says what it bounds.
public struct EngineConfiguration: Sendable {
    /// Where RocksDB keeps its files.
    public var dataDirectory: String
    /// Number of partitions. Fixed when a data directory is created; changing it later is refused.
    public var partitions: Int = 8
    /// Declared tables. Events naming any other table are rejected with `unknown_table`.
    public var tables: Set<String> = []
    public var durability: Durability = .sync
    /// Whether one-off reads are logged with read records (the default) or answered unlogged.
    public var logsReads: Bool = true
    /// Threads that run partition operators; each owns every `workers`-th partition.
    /// Defaults to one per core: more threads than cores only adds context switches.
    public var workers: Int = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
    /// Most events waiting per partition; a worker's queue holds this many times the number
    /// of partitions it owns. Beyond it clients get 503 `overloaded`.
    public var inboxEventsMax: Int = 8192
    /// Most events a worker takes in one round, per partition it runs; a round's groups are
    /// committed as one write batch.
    public var groupEventsMax: Int = 512
    /// How long an event may wait for its `after` position before `after_timeout`.
    public var afterTimeoutSeconds: Double = 5
    /// Log records kept per partition; 0 keeps every record (and so every request outcome) forever.
    /// Older records are deleted by the worker after a commit, once 1024 more than this
    /// accumulate; a retry of an ID whose record is gone gets `outcome_expired` and is still
    /// never applied twice.
    public var retainedRecordsPerPartition: UInt64 = 0
    /// Seconds a read record is kept; 0 keeps it as long as the log keeps records. Older read
    /// records are pruned: a stub keeps their place in the hash chain, and provenance of them
    /// answers `provenance_expired`. Writes are never pruned. Time, not a count, because what
    /// a customer saw is kept "for 30 days", whatever the traffic.
    public var readRecordRetentionSeconds: Int = 0
    public var limits = Limits()
    /// Declared queries and procedures (docs/DECLARATIONS.md).
    public var declarations = Declarations()
    /// Parses declarations sent at run time (`declare`); nil refuses them.
    public var declarationParser: DeclarationRegistry.Parser? = nil
    /// How long a fan-out query waits for all its parts before `partial_failure`.
    public var fanOutTimeoutSeconds: Double = 5
    /// How long a procedure call waits for its outcome to be recorded before `call_pending`
    /// (the call still finishes; its outcome can be looked up later).
    public var callOutcomeTimeoutSeconds: Double = 10
    public var storage = StorageOptions()
    public var subscriptions = Subscriptions()
    public var audit = Audit()

    /// The background auditor (docs/CONFIGURATION.md, `audit:`).
    public struct Audit: Sendable {
        /// Seconds between online audits run in the background; 0 runs none. An audit reads
        /// every log record and state value, so on a big data directory keep this long.
        public var intervalSeconds: Int = 0

        public init() {}
    }

    /// Bounds and timing of subscriptions (docs/CONFIGURATION.md, `subscriptions:`).
    public struct Subscriptions: Sendable {
        /// Most subscriptions open on the server at once; beyond it `too_many_subscriptions`.
        public var max: Int = 100_000
        /// Most subscriptions one WebSocket connection may hold.
        public var perConnectionMax: Int = 1_000
        /// Messages buffered per connection before a subscriber counts as slow and catches
        /// up from the change log instead of being pushed to.
        public var bufferMessages: Int = 4_096
        /// Changes waiting between commit and dispatch, over all partitions; past it the
        /// live subscribers of the partitions concerned catch up from the log.
        public var feedChangesMax: Int = 100_000
        /// After a dispatch, the change feed waits this long per connection it woke (at most
        /// `feedPauseMaxMillis`), so a fan-out's changes go out in fewer, larger socket writes.
        public var feedPauseMicrosPerConnection: Int = 20
        public var feedPauseMaxMillis: Int = 20
        /// An idle subscription connection gets a heartbeat this often.
        public var heartbeatSeconds: Double = 15

        public init() {}
    }

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    public enum Durability: String, Sendable {
        /// Acknowledge a write only after its group is synced to disk.
        case sync
        /// Acknowledge after the write reaches the OS; a machine crash may lose recent writes.
        case async
    }
}
