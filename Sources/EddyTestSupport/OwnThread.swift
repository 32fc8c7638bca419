import Foundation

/// Runs blocking `body` (waiting on a child process, polling a log file) on a thread of its
/// own and suspends until it returns.
///
/// Why: Swift's cooperative pool has one thread per core, two on the CI machine. A test
/// that blocks one of them while a server starts or a CLI command runs starves every other
/// test's tasks for that long; timing-sensitive tests then fail for no fault of the server.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
