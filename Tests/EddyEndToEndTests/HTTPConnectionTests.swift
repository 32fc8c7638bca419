import EddyModel
import EddyTestSupport
import Foundation
import Testing

/// HTTP/1.1 on one connection, where `POST /v1/events` (served in front of the router) and
/// the router's endpoints share it: order, keep-alive, limits and the idle timeout.
@Suite(.serialized) struct HTTPConnectionTests {
    private typealias Raw = RawHTTPConnection

    @Test func pipelinedRequests_mixingEventsAndOtherEndpoints_areAnsweredInOrder() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let connection = try Raw(url: server.url)
        // Five requests in one write: the server must answer each in the order sent.
        try connection.send(
            Raw.request("POST", "/v1/events", body: #"{"op":"put","table":"users","key":"p1","value":{"n":1}}"#)
                + Raw.request("GET", "/v1/tables/users/p1")
                + Raw.request("POST", "/v1/events", body: #"{"op":"get","table":"users","key":"p1"}"#)
                + Raw.request("GET", "/health")
                + Raw.request("POST", "/v1/events", body: #"[{"op":"incr","table":"counters","key":"c","field":"n"},{"op":"incr","table":"counters","key":"c","field":"n"}]"#)
        )
        let put = try await JSON(parsing: connection.readResponse().body)
        #expect(put["ok"] == true)
        #expect(put["value"] == nil)
        let routed = try await JSON(parsing: connection.readResponse().body)
        #expect(routed["value"] == ["n": 1])
        let get = try await JSON(parsing: connection.readResponse().body)
        #expect(get["value"] == ["n": 1])
        #expect(get["found"] == true)
        let health = try await JSON(parsing: connection.readResponse().body)
        #expect(health["status"] == "ok")
        let batch = try await JSON(parsing: connection.readResponse().body)
        #expect(batch.arrayValue?.map { $0["value"]?["n"] } == [1, 2])
    }

    @Test func connectionClose_onAnEventsRequest_isAnsweredThenClosed() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let connection = try Raw(url: server.url)
        try connection.send(Raw.request("POST", "/v1/events", body: #"{"op":"put","table":"users","key":"c1","value":1}"#, headers: ["Connection: keep-alive, Close"]))
        let reply = try await connection.readResponse()
        #expect(reply.status == 200)
        #expect(reply.header("connection") == "close")
        #expect(await connection.closesWithin(5))
    }

    /// HTTP/1.0 is persistent only when the client asks with `Connection: keep-alive`;
    /// otherwise the server closes after the response, on its own routes and the router's.
    @Test func http10Requests_closeAfterTheResponse_unlessTheyAskForKeepAlive() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let put = Raw.request("POST", "/v1/events", body: #"{"op":"put","table":"users","key":"h10","value":1}"#, version: "HTTP/1.0")
        for request in [put, Raw.request("GET", "/health", version: "HTTP/1.0")] {
            let connection = try Raw(url: server.url)
            try connection.send(request)
            #expect(try await connection.readResponse().status == 200)
            #expect(await connection.closesWithin(5), "an HTTP/1.0 connection without keep-alive closes")
        }

        let kept = try Raw(url: server.url)
        try kept.send(Raw.request("POST", "/v1/events", body: #"{"op":"get","table":"users","key":"h10"}"#, headers: ["Connection: keep-alive"], version: "HTTP/1.0"))
        #expect(try await JSON(parsing: kept.readResponse().body)["value"] == 1)
        try kept.send(Raw.request("GET", "/health", headers: ["Connection: Keep-Alive"], version: "HTTP/1.0"))
        #expect(try await kept.readResponse().status == 200, "a keep-alive HTTP/1.0 connection serves on")
    }

    /// HTTP/1.1 servers must accept a request target in absolute form (as a proxy sends it),
    /// on the events route as on the router's.
    @Test func absoluteFormTargets_areServedLikeTheirPaths() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let connection = try Raw(url: server.url)
        try connection.send(Raw.request("POST", server.url + "/v1/events?pretty", body: #"{"op":"put","table":"users","key":"abs","value":7}"#))
        #expect(try await connection.readResponse().status == 200)
        try connection.send(Raw.request("POST", server.url + "/v1/events", body: #"{"op":"get","table":"users","key":"abs"}"#))
        #expect(try await JSON(parsing: connection.readResponse().body)["value"] == 7)
        try connection.send(Raw.request("GET", server.url + "/health"))
        #expect(try await connection.readResponse().status == 200)
    }

    @Test func bodyOverTheLimit_sentInPieces_gets413_andTheConnectionServesOn() async throws {
        let server = try ServerProcess(config: ServerProcess.defaultTestConfig + "\nlimits:\n  bodyBytesMax: 4096\n")
        try await server.start()
        defer { server.stop() }
        let connection = try Raw(url: server.url)
        let value = String(repeating: "v", count: 6000)
        let body = #"{"op":"put","table":"users","key":"big","value":""# + value + #""}"#
        let request = Array(Raw.request("POST", "/v1/events", body: body).utf8)
        for start in stride(from: 0, to: request.count, by: 1000) {
            try connection.send(Array(request[start..<min(start + 1000, request.count)]))
            try await Task.sleep(for: .milliseconds(10))
        }
        let tooLarge = try await connection.readResponse()
        #expect(tooLarge.status == 413)
        #expect(try JSON(parsing: tooLarge.body)["error"]?["code"] == "body_too_large")

        try connection.send(Raw.request("POST", "/v1/events", body: #"{"op":"get","table":"users","key":"big"}"#))
        let get = try await JSON(parsing: connection.readResponse().body)
        #expect(get["found"] == false)
    }

    @Test func idleConnection_isClosedAfterTheIdleTimeout_butAnOpenStreamIsNot() async throws {
        let server = try ServerProcess(config: ServerProcess.defaultTestConfig + "\nserver:\n  idleTimeoutSeconds: 1\n")
        try await server.start()
        defer { server.stop() }
        let idle = try Raw(url: server.url)
        try idle.send(Raw.request("POST", "/v1/events", body: #"{"op":"put","table":"users","key":"i1","value":1}"#))
        #expect(try await idle.readResponse().status == 200)
        let streaming = try Raw(url: server.url)
        try streaming.send(Raw.request("GET", "/v1/subscribe?table=users"))

        #expect(await idle.closesWithin(4))
        // The subscription stream is a request in progress, so the idle timeout spares it.
        #expect(await !streaming.closesWithin(3))
    }

    @Test func sseSubscriberThatDisconnects_isRemovedAtOnce_notAtTheNextHeartbeat() async throws {
        let server = try ServerProcess(config: """
            subscriptions:
              heartbeatSeconds: 60
            tables:
              - name: users
            """)
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { await client.close() } }
        func openSubscriptions() async throws -> Int? {
            let text = String(decoding: try await client.request(method: "GET", path: "/metrics").body, as: UTF8.self)
            return text.split(separator: "\n").first { $0.hasPrefix("eddy_subscriptions ") }.flatMap { Int($0.split(separator: " ")[1]) }
        }
        // Two ways to go: closing with bytes unread (the kernel sends a reset), and reading
        // everything first (a plain FIN, what a browser's EventSource sends), which the
        // server sees only as its input closing.
        for readsEverythingFirst in [false, true] {
            var stream: Raw? = try Raw(url: server.url)
            try stream!.send(Raw.request("GET", "/v1/subscribe?table=users&prefix=a"))
            let deadline = ContinuousClock.now + .seconds(10)
            while try await openSubscriptions() != 1 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await openSubscriptions() == 1)
            if readsEverythingFirst { #expect(await stream!.receives(": subscription ", within: 10)) }

            stream = nil  // closes the socket
            let closed = ContinuousClock.now
            while try await openSubscriptions() != 0 && ContinuousClock.now - closed < .seconds(10) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await openSubscriptions() == 0, "reads everything first: \(readsEverythingFirst)")
            #expect(ContinuousClock.now - closed < .seconds(5), "removed only after \(ContinuousClock.now - closed) (reads everything first: \(readsEverythingFirst))")
            _ = stream
        }
    }

    @Test func metrics_nameEachSubscriptionByItsID_escapedAsAPrometheusLabel() async throws {
        let server = try ServerProcess(config: """
            tables:
              - name: users
            """)
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { await client.close() } }
        // The ID `a"b\c`, URL-encoded: a quote and a backslash, which a label must escape.
        let stream = try Raw(url: server.url)
        try stream.send(Raw.request("GET", "/v1/subscribe?table=users&id=a%22b%5Cc"))
        #expect(await stream.receives(": subscription ", within: 10))
        let text = String(decoding: try await client.request(method: "GET", path: "/metrics").body, as: UTF8.self)
        for series in ["eddy_subscription_lag_records", "eddy_subscription_buffered_messages", "eddy_subscription_catching_up"] {
            #expect(text.contains(#"\#(series){subscription="a\"b\\c"} "#), "\(series) missing or unescaped")
        }
        _ = stream
    }

    @Test func idleSSEStreams_eachGetAHeartbeatWithinTheInterval() async throws {
        let server = try ServerProcess(config: """
            subscriptions:
              heartbeatSeconds: 1
            tables:
              - name: users
            """)
        try await server.start()
        defer { server.stop() }
        var streams: [Raw] = []
        for index in 0..<20 {
            let stream = try Raw(url: server.url)
            try stream.send(Raw.request("GET", "/v1/subscribe?table=users&key=k\(index)"))
            #expect(await stream.receives(": subscription ", within: 10))
            streams.append(stream)
        }
        // Heartbeats are spread over the interval, but each stream is checked once per
        // interval: within two, every idle stream has had one.
        for stream in streams {
            #expect(await stream.receives(": heartbeat", within: 2.5))
        }
    }

    @Test func clientThatHalfClosesAfterItsRequests_stillGetsEveryAnswer() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let connection = try Raw(url: server.url)
        try connection.send(
            Raw.request("POST", "/v1/events", body: #"{"id":"half-1","op":"incr","table":"counters","key":"h","field":"n"}"#)
                + Raw.request("GET", "/health")
                + Raw.request("POST", "/v1/events", body: #"{"op":"get","table":"counters","key":"h"}"#)
        )
        connection.closeWrite()
        #expect(try await JSON(parsing: connection.readResponse().body)["value"]?["n"] == 1)
        #expect(try await JSON(parsing: connection.readResponse().body)["status"] == "ok")
        #expect(try await JSON(parsing: connection.readResponse().body)["value"]?["n"] == 1)
    }

    @Test func longPipelineOfInstantAnswers_behindOneWrite_isAnsweredInOrder() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let connection = try Raw(url: server.url)
        // The first request waits for a sync; the rest (malformed, answered without the
        // engine) queue behind it and are answered in one drain when it is done.
        let count = 2000
        var text = Raw.request("POST", "/v1/events", body: #"{"op":"put","table":"users","key":"first","value":1}"#)
        for index in 0..<count { text += Raw.request("POST", "/v1/events", body: "{\"op\":\(index)") }
        try connection.send(text)
        #expect(try await connection.readResponse().status == 200)
        for _ in 0..<count {
            let reply = try await connection.readResponse()
            #expect(reply.status == 400)
        }
        try connection.send(Raw.request("POST", "/v1/events", body: #"{"op":"get","table":"users","key":"first"}"#))
        #expect(try await JSON(parsing: connection.readResponse().body)["value"] == 1)
    }

    @Test func clientThatStopsHalfwayThroughABody_isClosedAfterTheIdleTimeout() async throws {
        let server = try ServerProcess(config: ServerProcess.defaultTestConfig + "\nserver:\n  idleTimeoutSeconds: 1\n")
        try await server.start()
        defer { server.stop() }
        let connection = try Raw(url: server.url)
        try connection.send("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"op\":")
        #expect(await connection.closesWithin(5))
    }
}
