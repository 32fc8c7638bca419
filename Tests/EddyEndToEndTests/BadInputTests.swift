import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Testing

/// One request of each kind of bad input, each answered with its stable code; afterwards
/// the server still serves and earlier data is intact.
@Suite(.serialized) struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var body: [UInt8]
        var status: Int
        var code: String
        var description: String { name }
    }

    static func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    static let cases: [Case] = [
        Case(name: "malformed JSON", body: text(#"{"op":"put","#), status: 400, code: "malformed_json"),
        Case(name: "invalid UTF-8", body: text(#"{"op":"put","table":"users","key":""#) + [0xC3, 0x28] + text(#"","value":1}"#), status: 400, code: "invalid_utf8"),
        Case(name: "wrong type", body: text(#"{"op":"put","table":"users","key":42,"value":1}"#), status: 400, code: "wrong_type"),
        Case(name: "unknown op", body: text(#"{"op":"upsert","table":"users","key":"k","value":1}"#), status: 400, code: "unknown_op"),
        Case(name: "unknown table", body: text(#"{"op":"put","table":"nope","key":"k","value":1}"#), status: 404, code: "unknown_table"),
        Case(name: "unknown field", body: text(#"{"op":"put","table":"users","key":"k","vaule":1}"#), status: 400, code: "unknown_field"),
        Case(name: "missing field", body: text(#"{"op":"put","table":"users","key":"k"}"#), status: 400, code: "missing_field"),
        Case(name: "too deep", body: text(#"{"op":"put","table":"users","key":"k","value":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"), status: 400, code: "too_deep"),
        Case(name: "empty key", body: text(#"{"op":"put","table":"users","key":"","value":1}"#), status: 400, code: "empty_key"),
        Case(name: "key too long", body: text(#"{"op":"get","table":"users","key":""# + String(repeating: "k", count: 1025) + #""}"#), status: 400, code: "key_too_long"),
        Case(name: "reserved ID", body: text(#"{"id":"@0-1-1","op":"put","table":"users","key":"k","value":1}"#), status: 400, code: "invalid_id"),
        Case(name: "bad position token", body: text(#"{"op":"get","table":"users","key":"k","after":"garbage"}"#), status: 400, code: "invalid_position"),
        Case(name: "value too large", body: text(#"{"op":"put","table":"users","key":"k","value":""# + String(repeating: "v", count: (1 << 20) + 10) + #""}"#), status: 413, code: "value_too_large"),
        Case(name: "body too large", body: text(#"{"op":"put","table":"users","key":"k","value":""# + String(repeating: "v", count: 5 << 20) + #""}"#), status: 413, code: "body_too_large"),
        Case(name: "batch too large", body: text("[" + Array(repeating: #"{"op":"get","table":"users","key":"k"}"#, count: 1001).joined(separator: ",") + "]"), status: 413, code: "batch_too_large"),
        Case(name: "not an object", body: text("42"), status: 400, code: "invalid_event"),
    ]

    @Test func everyKindOfBadInput_getsItsCode_andTheServerKeepsServing() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        try await client.put("users", "survivor", ["intact": true], id: "before-bad-input")

        for bad in Self.cases {
            // A fresh connection per case: the server may close one after an oversized body.
            let probe = try server.client()
            let reply = try await probe.request(method: "POST", path: "/v1/events", body: bad.body)
            #expect(reply.status == bad.status, "\(bad.name): status \(reply.status)")
            let body = try JSON(parsing: reply.body)
            #expect(body["error"]?["code"]?.stringValue == bad.code, "\(bad.name): \(String(decoding: reply.body.prefix(300), as: UTF8.self))")
            #expect(body["error"]?["message"]?.stringValue?.isEmpty == false, "\(bad.name) needs a message")
            #expect(body["ok"] == false)
            await probe.close()
        }

        let health = try await client.health()
        #expect(health.status == 200)
        let get = try await client.get("users", "survivor")
        #expect(get["value"] == ["intact": true])
        await client.close()
    }

    @Test func batch_withSomeInvalidEvents_answersEachInPlace_andRunsTheValidOnes() async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        let results = try await client.send(batch: [
            ["op": "put", "table": "users", "key": "a", "value": 1],
            ["op": "explode"],
            ["op": "get", "table": "users", "key": "a"],
        ])
        #expect(results.count == 3)
        #expect(results[0]["ok"] == true)
        #expect(results[1]["error"]?["code"] == "unknown_op")
        #expect(results[2]["value"] == 1)
        await client.close()
    }
}
