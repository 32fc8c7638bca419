@testable import EddyEngine
import EddyModel
import Testing

@Suite struct ProvenanceEngineTests {
    @Test func provenancePastRetention_saysItExpired() async throws {
        let h = try EngineHarness { $0.partitions = 1; $0.retainedRecordsPerPartition = 10 }
        _ = try await h.result(["id": "old", "op": "put", "table": "users", "key": "k", "value": 1])
        for i in 0..<1100 { _ = try await h.result(["op": "put", "table": "users", "key": "x", "value": .number(Double(i))]) }
        let result = await h.engine.provenance(of: "old", depth: 1)
        let json = try result.get()
        #expect(json["found"] == false)
        #expect(json["expired"] == true)
    }

    @Test func serverAssignedReadID_fromAnotherEpoch_isNotMistakenForItsOffset() async throws {
        let h = try EngineHarness { $0.partitions = 1 }
        let read = try await h.result(["op": "get", "table": "users", "key": "k"])
        let id = try #require(read["id"]?.stringValue)
        #expect(try await h.engine.provenance(of: id, depth: 0).get()["found"] == true)
        // The same partition and offset, but a start of the server that never wrote it.
        let parts = id.dropFirst().split(separator: "-")
        let other = "@\(parts[0])-\(parts[1])-\(Int(parts[2])! + 7)"
        #expect(try await h.engine.provenance(of: other, depth: 0).get()["found"] == false)
    }
}
