public import EddyStorage
import EddyThreads
import Foundation
import Metrics
import Synchronization

/// Group commit for everything written to one RocksDB database: writers write without
/// syncing and take a ticket; one thread syncs the WAL once for every ticket issued so far
/// and then tells each waiter its writes are durable.
///
/// Writers never block on fsync, so partition operators keep handling events while a sync
/// is in flight, and one fsync covers the groups of every partition that wrote meanwhile.
public final class WALSync: Sendable {
    public typealias Completion = @Sendable (Result<Void, StorageError>) -> Void

    private struct State {
        var issued: UInt64 = 0
        var synced: UInt64 = 0
        var waiters: [Waiter] = []
        var failure: StorageError?
        var stopping = false
    }

    /// A completion waiting for its ticket to be synced. A named struct, not a tuple, so the
    /// arrays of them stay in specialized code.
    private struct Waiter {
        let ticket: UInt64
        let done: Completion
    }

    private let database: Database
    private let state = Mutex(State())
    private let wake = NSCondition()
    private let finished = DispatchSemaphore(value: 0)
    private let syncs = Counter(label: "eddy_wal_syncs_total")
    private let syncSeconds = Metrics.Timer(label: "eddy_wal_sync_seconds")
    /// Most waiters held at once. Each is one worker round, and each worker keeps at most a
    /// fixed number of rounds waiting (its backpressure), so reaching this is a bug.
    public static let waitersMax = 1 << 16

    public init(database: Database) {
        self.database = database
        NamedThread.start("eddy-wal-sync") { [self] in
            Database.disablePerfCountersOnThisThread()
            run()
            finished.signal()
        }
    }

    /// Call right after a write returns: every ticket up to this one is covered by the next sync.
    public func ticket() -> UInt64 {
        state.withLock { state in
            state.issued += 1
            return state.issued
        }
    }

    /// The last ticket handed out: the newest write that asked to be durable.
    public var lastTicket: UInt64 {
        state.withLock { $0.issued }
    }

    /// Calls `done` once every write before `ticket` is durable: at once if it already is,
    /// otherwise from the sync thread.
    public func whenDurable(_ ticket: UInt64, _ done: @escaping Completion) {
        let immediate: Result<Void, StorageError>? = state.withLock { state in
            if let failure = state.failure { return .failure(failure) }
            if state.synced >= ticket { return .success(()) }
            precondition(state.waiters.count < Self.waitersMax, "WAL sync waiters exceed their bound")
            state.waiters.append(Waiter(ticket: ticket, done: done))
            return nil
        }
        if let immediate {
            done(immediate)
            return
        }
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    /// Syncs what is pending, fails nothing, and stops the thread.
    public func stop() {
        state.withLock { $0.stopping = true }
        wake.lock()
        wake.signal()
        wake.unlock()
        finished.wait()
    }

    private func run() {
        while true {
            wake.lock()
            while true {
                let (idle, stopping) = state.withLock { ($0.waiters.isEmpty, $0.stopping) }
                if !idle || stopping { break }
                wake.wait()
            }
            wake.unlock()
            let (target, stopping) = state.withLock { ($0.issued, $0.stopping) }
            let outcome: Result<Void, StorageError>
            let started = ContinuousClock.now
            do {
                try database.syncWAL()
                outcome = .success(())
                syncs.increment()
                let (seconds, attoseconds) = (ContinuousClock.now - started).components
                syncSeconds.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            } catch {
                outcome = .failure(error)
            }
            let due: [Waiter] = state.withLock { state in
                switch outcome {
                case .success:
                    state.synced = max(state.synced, target)
                    let ready = state.waiters.filter { $0.ticket <= target }
                    state.waiters.removeAll { $0.ticket <= target }
                    return ready
                case .failure(let error):
                    // A failed fsync leaves the WAL's durability unknown: nothing after it may
                    // be acknowledged, now or later.
                    state.failure = error
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
            }
            for waiter in due { waiter.done(outcome) }
            if stopping && state.withLock({ $0.waiters.isEmpty }) { return }
        }
    }
}
