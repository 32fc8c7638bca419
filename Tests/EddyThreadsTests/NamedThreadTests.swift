import EddyTestSupport
import EddyThreads
import Foundation
import Synchronization
import Testing

/// The kernel must know each thread by the name it was started with: `tools/bench/cpu.sh`
/// attributes CPU by that name, and a thread left with its creator's name is charged to the
/// wrong line.
@Suite struct NamedThreadTests {
    @Test func everyStartedThread_isKnownToTheKernelByItsName() async throws {
        // Many, started while other threads keep every core busy, so that some run before
        // their creators return from `start()`: those are the ones a name set from inside
        // alone would miss (the floor's handoff thread was, under load).
        let count = 64
        let release = DispatchSemaphore(value: 0)
        let running = DispatchGroup()
        let spinning = Atomic<Bool>(true)
        for _ in 0..<(2 * ProcessInfo.processInfo.activeProcessorCount) {
            Thread { while spinning.load(ordering: .relaxed) {} }.start()
        }
        for index in 0..<count {
            running.enter()
            NamedThread.start("named-test-\(index)") {
                release.wait()
                running.leave()
            }
        }
        spinning.store(false, ordering: .relaxed)
        defer {
            for _ in 0..<count { release.signal() }
            running.wait()
        }
        let expected = Set((0..<count).map { "named-test-\($0)" })
        var missing = expected
        let deadline = Date().addingTimeInterval(10)
        while !missing.isEmpty, Date() < deadline {
            missing = expected.subtracting(ChildProcess.threads(of: ProcessInfo.processInfo.processIdentifier).map(\.name))
            if !missing.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(missing.isEmpty, "threads the kernel does not know by name: \(missing.sorted())")
    }
}
