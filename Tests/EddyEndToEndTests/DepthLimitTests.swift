import EddyClient
import EddyModel
import EddyTestSupport
import Testing

/// `limits.jsonDepthMax` may be raised (up to `Limits.jsonDepthCeiling`). What the server
/// accepted under it, it must also read back: its log records, stored documents and replies.
/// It once read them back at a fixed depth of 64, so a retry of a deeper write stopped the
/// partition (`record does not decode: too_deep`).
@Suite struct DepthLimitTests {
    @Test func deepDocuments_underARaisedLimit_areRetriedPatchedReadAndAudited() async throws {
        let server = try ServerProcess(config: ServerProcess.defaultTestConfig + "\nlimits:\n  jsonDepthMax: 200\n")
        try await server.start()
        defer { server.stop() }
        let client = try server.client()

        var deep: JSON = ["leaf": true]
        for _ in 0..<190 { deep = ["a": deep] }
        let put: JSON = ["id": "deep-1", "op": "put", "table": "users", "key": "deep", "value": deep]
        let first = try await client.send(put)
        #expect(first.status == 200, "\(first.result.serializedString.prefix(300))")

        // The retry is answered from the first attempt's log record, which must decode.
        let retry = try await client.send(put)
        #expect(retry.status == 200, "\(retry.result.serializedString.prefix(300))")
        #expect(retry.result == first.result)

        // A patch reads the stored document back and merges into it.
        let patch = try await client.send(["op": "patch", "table": "users", "key": "deep", "value": ["b": 1]])
        #expect(patch.status == 200, "\(patch.result.serializedString.prefix(300))")
        var expected = deep
        if case .object(var members) = expected {
            members["b"] = 1
            expected = .object(members)
        }
        #expect(try await client.get("users", "deep")["value"] == expected)

        // The audit re-derives state from the log, deep records included.
        let report = try await client.audit()
        #expect(report["ok"] == true, "\(report.serializedString.prefix(500))")
        let health = try await client.health()
        #expect(health.status == 200, "every partition still serves")
        await client.close()
    }
}
