import Foundation

/// Bounded waits on child processes. Why not `Process.waitUntilExit()`: it never gives up,
/// so a child that ignores SIGTERM would hang the whole test run instead of failing one
/// test. Children write to files, not pipes: tearing down a pipe's `readabilityHandler`
/// can crash libdispatch on Linux (swift-corelibs-libdispatch issue 949), which killed the
/// test process in 2 of 25 runs when servers wrote to pipes.
enum ChildProcess {
    /// Whether `process` exited within `timeout`; polls every 5 ms.
    static func waitForExit(_ process: Process, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return true
    }

    /// SIGKILL, then wait for the kernel to reap it (which cannot take long).
    static func kill9(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(process, timeout: .seconds(30))
    }

    /// The last `limit` bytes of the file at `path`, for failure messages.
    static func tail(of path: String, limit: Int = 4000) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.suffix(limit), as: UTF8.self)
    }
}
