import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Testing

/// Story 7: a client reads stock and a shipping date, orders naming those reads in
/// `causedBy`, and the data changes afterwards. Provenance of the order shows the values the
/// client saw then, and the writes that produced them.
@Suite(.serialized) struct ProvenanceTests {
    @Test func provenanceOfAnOrder_showsTheOldValuesSeen_andTheWritesBehindThem() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        try await client.put("stock", "item1", ["count": 5], id: "stock-w1")
        try await client.put("stock", "item1-ship", ["date": "2026-12-01"], id: "ship-w1")

        // One read with a server-assigned ID (its answer is rebuilt from the writes behind
        // it) and one with a client ID (its answer is kept in its record).
        let stockRead = try await client.get("stock", "item1", client: "alice")
        let shipRead = try await client.perform(["id": "alice-r2", "op": "get", "table": "stock", "key": "item1-ship", "client": "alice"])
        let stockReadID = try #require(stockRead["id"]?.stringValue)
        try await client.perform(["id": "order-1", "op": "put", "table": "orders", "key": "o1", "value": ["item": "item1"],
                                  "causedBy": [.string(stockReadID), shipRead["id"]!]])
        // Afterwards the data changes.
        try await client.put("stock", "item1", ["count": 4], id: "stock-w2")
        try await client.put("stock", "item1-ship", ["date": "2027-01-15"], id: "ship-w2")

        let run = try await CLI.run(["provenance", "order-1", "--server", server.url])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let order = try run.json()
        #expect(order["records"]?.arrayValue?.first?["kind"] == "write")
        let causes = try #require(order["causedBy"]?.arrayValue)
        #expect(causes.count == 2)
        let stock = try #require(causes[0]["records"]?.arrayValue?.first)
        #expect(stock["answer"] == ["count": 5], "the value the client saw, not today's")
        #expect(stock["answerFrom"] == "rebuilt")
        #expect(stock["digestMatches"] == true)
        #expect(stock["client"] == "alice")
        #expect(stock["sources"]?.arrayValue?.first?["producedBy"]?["id"] == "stock-w1")
        let ship = try #require(causes[1]["records"]?.arrayValue?.first)
        #expect(ship["answer"] == ["date": "2026-12-01"])
        #expect(ship["answerFrom"] == "record")
        #expect(ship["digestMatches"] == true)
        #expect(ship["sources"]?.arrayValue?.first?["producedBy"]?["id"] == "ship-w1")

        // What did alice see? Her two reads, oldest first.
        let reads = try JSON(parsing: try await client.request(method: "GET", path: "/v1/provenance?client=alice").body)
        #expect(reads["reads"]?.arrayValue?.map { $0["answer"] } == [["count": 5], ["date": "2026-12-01"]])

        // A scan's parts, one per partition, are found by its ID too.
        let scan = try await client.scan("stock", prefix: "item1", client: "bob")
        let scanProvenance = try JSON(parsing: try await client.request(method: "GET", path: "/v1/provenance/\(scan["id"]!.stringValue!)").body)
        let parts = try #require(scanProvenance["records"]?.arrayValue)
        #expect(parts.count == 8)
        #expect(parts.allSatisfy { $0["digestMatches"] == true })
        #expect(Set(parts.flatMap { $0["answer"]?["items"]?.arrayValue ?? [] }.compactMap { $0["value"] }) == [["count": 4], ["date": "2027-01-15"]])

        // The reads were logged without their own sync; the order's sync made them durable,
        // so a kill -9 right after leaves the order's provenance whole.
        await client.close()
        server.kill9()
        try await server.start()
        let again = try await CLI.run(["provenance", "order-1", "--server", server.url])
        let afterCrash = try again.json()
        #expect(afterCrash["causedBy"]?.arrayValue?.map { $0["records"]?.arrayValue?.first?["answer"] } == [["count": 5], ["date": "2026-12-01"]])

        let unknown = try await CLI.run(["provenance", "no-such-id", "--server", server.url])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("not_found"))
    }
}
