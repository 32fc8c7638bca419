import Foundation

/// Bounded waits on child processes. Why not `Process.waitUntilExit()`: it never gives up,
/// so a child that ignores SIGTERM would hang the whole test run instead of failing one
/// test. Children write to files, not pipes: tearing down a pipe's `readabilityHandler`
/// can crash libdispatch on Linux (swift-corelibs-libdispatch issue 949), which killed the
/// test process in 2 of 25 runs when servers wrote to pipes.
public enum ChildProcess {
    private static let spawning = NSLock()

    /// Starts `process`, one at a time across the test run.
    ///
    /// Why one at a time: Foundation learns that a child exited when the child's end of a
    /// socket pair closes. It keeps other descriptors out of a new child by closing every
    /// descriptor open when it looks, so a child spawned while another `run()` is between
    /// making its socket pair and spawning inherits that pair's end. The first child's exit
    /// then goes unnoticed for as long as the second lives: it stays a zombie, `isRunning`
    /// stays true, and `waitUntilExit()` never returns. Seen in this suite once servers
    /// were started from many threads at once.
    public static func run(_ process: Process) throws {
        try spawning.withLock { try process.run() }
    }

    /// The exit status of `process` if it has exited, or nil while it runs.
    ///
    /// Why not `Process.isRunning` alone: children started elsewhere than `run` above can
    /// still hide an exit from Foundation (see there). So the kernel is asked too, with
    /// `WNOWAIT`, which leaves the child for Foundation to reap.
    public static func exitStatus(of process: Process) -> Int32? {
        if !process.isRunning { return process.terminationStatus }
        let pid = process.processIdentifier
        var info = siginfo_t()
        guard pid > 0, waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._kill.si_pid == pid else {
            return nil
        }
        return info._sifields._sigchld.si_status
    }

    /// The exit status of `process` if it exits within `timeout`, else nil; polls every 5 ms.
    static func waitForExit(_ process: Process, timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = exitStatus(of: process) { return status }
            guard ContinuousClock.now < deadline else { return nil }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// SIGTERM, then SIGKILL if `process` has not exited within `timeout` (a bounded
    /// `waitUntilExit()`, which would hang the run on an exit Foundation missed). Returns nil
    /// if it exited on SIGTERM; otherwise what the kernel said of it before the SIGKILL.
    @discardableResult
    public static func terminate(_ process: Process, timeout: Duration = .seconds(20)) -> String? {
        guard exitStatus(of: process) == nil else { return nil }
        process.terminate()
        if waitForExit(process, timeout: timeout) != nil { return nil }
        let state = kernelState(of: process.processIdentifier)
        kill9(process)
        return state
    }

    /// SIGKILL, then wait for the kernel to end it (which cannot take long).
    static func kill9(_ process: Process) {
        guard exitStatus(of: process) == nil else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(process, timeout: .seconds(30))
    }

    /// What the kernel says of `pid` and its threads (state and wait channel), for the
    /// message of a wait that timed out.
    private static func kernelState(of pid: Int32) -> String {
        let lines = threads(of: pid).map { thread -> String in
            let stat = (try? String(contentsOfFile: thread.directory + "/stat", encoding: .utf8)) ?? ""
            let afterName = stat.range(of: ") ").map { String(stat[$0.upperBound...].prefix(1)) } ?? "?"
            let wchan = (try? String(contentsOfFile: thread.directory + "/wchan", encoding: .utf8)) ?? "?"
            return "\(thread.name) \(afterName) \(wchan)"
        }
        return lines.isEmpty ? "pid \(pid) is gone" : "pid \(pid) threads: " + lines.joined(separator: "; ")
    }

    /// A thread of a running process, as `/proc` shows it.
    public struct KernelThread: Sendable {
        /// Its name (at most 15 bytes; Linux keeps no longer one).
        public let name: String
        /// Its directory under `/proc/PID/task`.
        public let directory: String

        /// How many times it has blocked so far: it rises each time the thread waits for work.
        public var voluntarySwitches: Int? {
            let status = (try? String(contentsOfFile: directory + "/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        }
    }

    /// The threads of process `pid`, in `/proc` order; empty once it is gone.
    public static func threads(of pid: Int32) -> [KernelThread] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.sorted().map { task in
            let directory = "/proc/\(pid)/task/\(task)"
            let name = ((try? String(contentsOfFile: directory + "/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
            return KernelThread(name: name, directory: directory)
        }
    }

    /// The last `limit` bytes of the file at `path`, for failure messages.
    static func tail(of path: String, limit: Int = 4000) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.suffix(limit), as: UTF8.self)
    }
}
