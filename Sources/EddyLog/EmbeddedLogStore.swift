public import EddyStorage
import Synchronization

/// The embedded `LogStore`: partition logs live in the `log` column family of the data
/// directory's RocksDB database, next to the state, so a commit holding records and state
/// writes of many partitions is one RocksDB write, and one WAL sync (`WALSync`) makes many
/// such commits durable.
public final class EmbeddedLogStore: LogStore {
    public let database: Database
    private let walSync: WALSync
    /// The ticket of the last durable commit.
    private let lastDurable = Mutex<UInt64>(0)

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
        guard durable else { return DurabilityTicket(lastDurable.withLock { $0 }) }
        let ticket = walSync.ticket()
        lastDurable.withLock { $0 = max($0, ticket) }
        return DurabilityTicket(ticket)
    }

    public func whenDurable(_ ticket: DurabilityTicket, _ done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        walSync.whenDurable(ticket.value) { result in done(result.mapError { $0 }) }
    }
}
