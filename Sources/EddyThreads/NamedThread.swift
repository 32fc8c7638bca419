import Foundation

/// Starts threads the kernel knows by name: `top -H`, `perf`, `/proc/PID/task/*/comm`, and the
/// load tool's CPU-by-thread figures (`tools/bench/cpu.sh`) all read that name.
///
/// Why not just `Thread.current.name = ...` at the top of the thread's body: Foundation passes
/// the name on to the OS only once `start()` has returned in the creating thread, and ignores a
/// name set before `start()`. A thread that names itself sooner keeps its creator's name; under
/// load the floor's handoff thread showed up as a second event loop that way. So the new
/// thread waits for `start()` to return before it names itself.
public enum NamedThread {
    /// Runs `body` on a new thread called `name`, at most 15 bytes (Linux keeps no longer name).
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "thread name '\(name)' is longer than Linux keeps")
        let started = DispatchSemaphore(value: 0)
        let thread = Thread {
            started.wait()
            Thread.current.name = name
            body()
        }
        thread.start()
        started.signal()
    }
}
