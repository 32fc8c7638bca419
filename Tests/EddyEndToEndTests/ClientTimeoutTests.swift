import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Testing

/// The Swift client never waits forever: a request without a response fails after the
/// client's request timeout, and the next request goes out on a fresh connection.
@Suite struct ClientTimeoutTests {
    @Test func requestToAStalledServer_timesOut_andTheClientRecoversWhenItResumes() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try EddyClient(url: server.url, requestTimeout: .milliseconds(500))
        defer { Task { await client.close() } }
        #expect(try await client.put("users", "t", 1)["ok"] == true)

        let pid = try #require(server.pid)
        kill(pid, SIGSTOP)
        // Resumed after 5 s in any case: without a timeout the request then succeeds late,
        // and the test fails instead of hanging.
        let resume = Task {
            try? await Task.sleep(for: .seconds(5))
            kill(pid, SIGCONT)
        }
        let sent = ContinuousClock.now
        await #expect(throws: RequestTimeout.self) { try await client.get("users", "t") }
        let waited = ContinuousClock.now - sent
        kill(pid, SIGCONT)
        resume.cancel()
        #expect(waited < .seconds(5), "timed out after \(waited)")

        #expect(try await client.get("users", "t")["value"] == 1, "a fresh connection serves")
    }
}
