import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Testing

@Suite(.serialized) struct HTTPAPITests {
    @Test func writesAndReads_throughEventsAndReadRoutes() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        let put = try await client.put("users", "alice smith", ["name": "Alice"])
        #expect(put["position"]?.stringValue?.isEmpty == false)

        let byRoute = try await client.request(method: "GET", path: "/v1/tables/users/alice%20smith?client=web")
        #expect(byRoute.status == 200)
        #expect(try JSON(parsing: byRoute.body)["value"] == ["name": "Alice"])

        let scan = try await client.request(method: "GET", path: "/v1/tables/users?prefix=alice&limit=5")
        #expect(try JSON(parsing: scan.body)["items"]?.arrayValue?.count == 1)

        let missing = try await client.request(method: "GET", path: "/v1/tables/nope/k")
        #expect(missing.status == 404)
        await client.close()
    }

    @Test func retry_withSameID_isMarkedReplayed_andReturnsIdenticalBody() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        let event: JSON = ["id": "order-77", "op": "incr", "table": "counters", "key": "c", "field": "n", "by": 2]
        let first = try await client.request(method: "POST", path: "/v1/events", body: event.serialized())
        let retry = try await client.request(method: "POST", path: "/v1/events", body: event.serialized())
        #expect(first.body == retry.body)
        #expect(first.header("Eddy-Replayed") == nil)
        #expect(retry.header("Eddy-Replayed") == "true")

        let conflict = try await client.request(method: "POST", path: "/v1/events", body: (["id": "order-77", "op": "put", "table": "counters", "key": "c", "value": 0] as JSON).serialized())
        #expect(conflict.status == 409)
        await client.close()
    }

    @Test func acknowledgedWrites_surviveAGracefulRestart_andHealthAndMetricsReport() async throws {
        let server = try ServerProcess()
        try await server.start()
        let client = try server.client()
        for index in 0..<50 {
            try await client.incr("counters", "k\(index % 5)", field: "n")
        }
        let health = try await client.health()
        #expect(health.body["status"] == "ok")
        #expect(health.body["partitions"]?.arrayValue?.count == 8)
        let metrics = try await client.request(method: "GET", path: "/metrics")
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains("eddy_events_total"))
        #expect(text.contains("eddy_group_commit_events"))
        #expect(text.contains("eddy_inbox_depth"))
        await client.close()
        server.stop()

        try await server.start()
        defer { server.stop() }
        let again = try server.client()
        for index in 0..<5 {
            #expect(try await again.get("counters", "k\(index)")["value"] == ["n": 10])
        }
        await again.close()
    }

    @Test func unknownRouteOrWrongMethod_answersNotFoundAsJSON() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        let missing = try await client.request(method: "GET", path: "/v2/nothing")
        #expect(missing.status == 404)
        #expect(try JSON(parsing: missing.body)["error"]?["code"] == "not_found")
        let wrongMethod = try await client.request(method: "PUT", path: "/v1/events", body: Array("{}".utf8))
        #expect(wrongMethod.status == 404)
        #expect(try JSON(parsing: wrongMethod.body)["error"]?["code"] == "not_found")
        await client.close()
    }
}
