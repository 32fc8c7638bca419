import EddyModel
import EddyThreads
import Foundation

/// A thread for RocksDB reads that are not partition events (provenance queries), so they
/// never run on an event loop or the Swift concurrency pool. Bounded: when `capacity` jobs
/// wait, the next caller gets `overloaded`.
final class BlockingReads: Sendable {
    typealias Job = @Sendable () -> Void
    private let inbox: Inbox<Job>
    private let finished = DispatchSemaphore(value: 0)

    init(capacity: Int, name: String) {
        inbox = Inbox(capacity: capacity)
        NamedThread.start(name) { [inbox, finished] in
            while true {
                let jobs = inbox.take(max: 16)
                if jobs.isEmpty { break }
                jobs.forEach { $0() }
            }
            finished.signal()
        }
    }

    /// Runs `body` on the thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
        await withCheckedContinuation { continuation in
            let job: Job = { continuation.resume(returning: Result { try body() }) }
            switch inbox.offer(job) {
            case .accepted: return
            case .full: continuation.resume(returning: .failure(EddyError(.overloaded, "too many provenance queries are running; retry shortly")))
            case .closed: continuation.resume(returning: .failure(EddyError(.shuttingDown, "the server is shutting down")))
            }
        }
    }

    /// Finishes the queued jobs and stops the thread.
    func stop() {
        inbox.close()
        finished.wait()
    }
}
