import EddyModel
import EddyTestSupport
import Foundation
import Testing

/// SIGTERM stops the server promptly whatever its connections are doing: open SSE streams,
/// WebSocket subscriptions and idle keep-alive connections must not hold it up, and what it
/// acknowledged is there after the restart.
@Suite struct GracefulShutdownTests {
    @Test func sigterm_withOpenStreamsAndIdleConnections_exitsPromptly_andKeepsAcknowledgedWrites() async throws {
        let server = try ServerProcess(config: """
            subscriptions:
              heartbeatSeconds: 60
            tables:
              - name: users
            """)
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        #expect(try await client.put("users", "a", ["n": 1])["ok"] == true)

        let sse = try RawHTTPConnection(url: server.url)
        try sse.send(RawHTTPConnection.request("GET", "/v1/subscribe?table=users&key=a"))
        #expect(await sse.receives("\"n\":1", within: 10), "the SSE stream got its snapshot")
        let socket = try await WebSocketTestClient.connect(url: server.url)
        try await socket.send(["op": "subscribe", "id": "watch", "table": "users", "key": "a"])
        #expect(try await socket.next()["subscription"] == "watch")
        let idle = try RawHTTPConnection(url: server.url)
        try idle.send(RawHTTPConnection.request("GET", "/health"))
        #expect(try await idle.readResponse().status == 200)

        let stopping = ContinuousClock.now
        try server.stopGracefully(timeout: .seconds(15))
        #expect(ContinuousClock.now - stopping < .seconds(10), "stopped after \(ContinuousClock.now - stopping)")
        #expect(await sse.closesWithin(5), "the SSE stream was closed")
        #expect(await idle.closesWithin(5), "the idle connection was closed")
        await socket.close()
        await client.close()

        try await server.start()
        let restarted = try server.client()
        defer { Task { await restarted.close() } }
        #expect(try await restarted.get("users", "a")["value"] == ["n": 1])
    }
}
