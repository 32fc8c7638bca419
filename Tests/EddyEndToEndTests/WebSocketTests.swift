import EddyModel
import EddyTestSupport
import Foundation
import Testing

/// The WebSocket at `/v1/ws`: events in, results and subscription changes out, pipelined.
@Suite(.serialized) struct WebSocketTests {
    @Test func pipelinedEventsAndASubscription_shareOneConnection_eachTagged() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let socket = try await WebSocketTestClient.connect(url: server.url)
        defer { Task { await socket.close() } }

        try await socket.send(["op": "subscribe", "id": "watch", "table": "counters", "key": "hits"])
        let subscribed = try await socket.next()
        #expect(subscribed["subscription"] == "watch")
        #expect(subscribed["ok"] == true)

        // 200 events in flight at once, without waiting for any result.
        let count = 200
        for n in 0..<count {
            try await socket.send(["op": "incr", "id": .string("e\(n)"), "table": "counters", "key": "hits", "field": "n"])
        }
        var results: [String: JSON] = [:]
        var changes: [Double] = []
        while results.count < count || changes.count < count {
            let message = try await socket.next()
            if message["subscription"] == "watch" {
                #expect(message["kind"] == "incr")
                changes.append(message["value"]?["n"]?.numberValue ?? -1)
            } else if let id = message["id"]?.stringValue {
                #expect(results[id] == nil, "two results for \(id)")
                results[id] = message
            }
        }
        #expect(results.values.allSatisfy { $0["ok"] == true })
        #expect(Set(results.keys) == Set((0..<count).map { "e\($0)" }))
        #expect(changes == (1...count).map(Double.init))
    }

    @Test func unsubscribe_stopsChanges_andBadMessagesGetErrorsWhileTheConnectionServes() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let socket = try await WebSocketTestClient.connect(url: server.url)
        defer { Task { await socket.close() } }

        try await socket.send(["op": "subscribe", "id": "s1", "table": "users", "prefix": "a"])
        #expect(try await socket.next()["ok"] == true)
        try await socket.send(text: "{not json")
        #expect(try await socket.next()["error"]?["code"] == "malformed_json")
        try await socket.send(["op": "subscribe", "id": "s1", "table": "users", "prefix": "b"])
        #expect(try await socket.next()["error"]?["code"] == "invalid_id")
        try await socket.send(["op": "unsubscribe", "id": "u1", "subscription": "nope"])
        #expect(try await socket.next()["error"]?["code"] == "not_found")

        try await socket.send(["op": "put", "id": "p1", "table": "users", "key": "ann", "value": 1])
        var seen: Set<String> = []
        while seen.count < 2 {
            let message = try await socket.next()
            seen.insert(message["subscription"] != nil ? "change" : message["id"]?.stringValue ?? "?")
        }
        #expect(seen == ["change", "p1"])

        try await socket.send(["op": "unsubscribe", "id": "u2", "subscription": "s1"])
        #expect(try await socket.next()["unsubscribed"] == "s1")
        try await socket.send(["op": "put", "id": "p2", "table": "users", "key": "amy", "value": 2])
        let after = try await socket.next()
        #expect(after["id"] == "p2", "only the put's result, no change: \(after.serializedString)")
        await #expect(throws: WebSocketTestError.self) { try await socket.next(timeout: .milliseconds(300)) }
    }
}
