public import EddyStorage

/// The embedded `LogStore`: partition logs live in the `log` column family of the data
/// directory's RocksDB database, next to the state, so a commit holding records and state
/// writes of many partitions is one RocksDB write, and one WAL sync (`WALSync`) makes many
/// such commits durable.
public final class EmbeddedLogStore: LogStore {
    private let database: Database
    private let walSync: WALSync

    public init(database: Database) {
        self.database = database
        walSync = WALSync(database: database)
    }

    /// Stops the sync thread after a last sync. Call before closing the database.
    public func close() {
        walSync.stop()
    }

    public func openLog(partition: Int) throws -> any PartitionLog {
        try EmbeddedLog(database: database, partition: partition)
    }

    public func commit(_ batch: WriteBatch, durable: Bool) throws -> DurabilityTicket {
        // Not synced here: the sync thread syncs once for every writer (see WALSync).
        try database.write(batch, sync: false)
        // An unsynced commit (reads) waits for the writes before it, which hold every ticket so far.
        return DurabilityTicket(durable ? walSync.ticket() : walSync.lastTicket)
    }

    public func read(partition: Int, from offset: Offset, limit: Int) throws -> [LogEntry] {
        try EmbeddedLog.readCommitted(database, partition: partition, from: offset, limit: limit)
    }

    public func whenDurable(_ ticket: DurabilityTicket, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        walSync.whenDurable(ticket.value) { result in done(result.mapError { $0 }) }
    }
}
