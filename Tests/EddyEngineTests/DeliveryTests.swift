@testable import EddyEngine
import EddyExpressions
import EddyModel
import Foundation
import Testing

/// A procedure's `deliver`: one put per element of a list the last stage computes, each to
/// the partition that owns its key, through the outbox.
@Suite struct DeliveryTests {
    static func expression(_ text: String) -> EddyExpressions.Expression {
        try! EddyExpressions.Expression(parsing: text)
    }

    /// `post`, as in the default configuration: store the message, then notify each friend.
    static func declarations() -> Declarations {
        var declarations = Declarations()
        let input = [InputField(name: "author", kind: .string), InputField(name: "message_id", kind: .string), InputField(name: "text", kind: .string)]
        let notify = ProcedureDeclaration.Delivery(
            each: expression("keys(author_friends)"), element: "friend", table: "notifications",
            key: expression("friend + '/' + input.message_id"),
            value: .object([("from", .expression(expression("input.author"))), ("text", .expression(expression("input.text")))])
        )
        declarations.procedures["post"] = ProcedureDeclaration(name: "post", input: input, outcomes: "posts", stages: [
            .init(name: "store", at: Lookup(name: "", table: "messages", key: expression("input.message_id")), reads: [], checks: [],
                  writes: [.init(op: .insert, table: "messages", key: expression("input.message_id"), value: .expression(expression("input.text")), field: nil, by: nil)],
                  undo: [.init(op: .delete, table: "messages", key: expression("input.message_id"), value: nil, field: nil, by: nil)]),
            .init(name: "notify", at: Lookup(name: "", table: "friends", key: expression("input.author")),
                  reads: [Lookup(name: "author_friends", table: "friends", key: expression("input.author"))], checks: [], writes: [], undo: [],
                  deliver: notify),
        ])
        return declarations
    }

    static func harness(deliveriesMax: Int = 1000) throws -> EngineHarness {
        try EngineHarness { configuration in
            configuration.tables = ["friends", "messages", "notifications", "posts"]
            configuration.declarations = declarations()
            configuration.limits.deliveriesMax = deliveriesMax
        }
    }

    static func post(_ id: String, author: String, message: String, after: JSON = .null) -> JSON {
        var event: [String: JSON] = ["id": .string(id), "op": "call", "procedure": "post", "input": ["author": .string(author), "message_id": .string(message), "text": "hello"]]
        if !after.isNull { event["after"] = after }
        return .object(event)
    }

    /// Every notification key, once the expected number have landed (deliveries may land
    /// after the call's outcome), or what there is after two seconds.
    static func notifications(_ h: EngineHarness, expecting count: Int) async throws -> [String] {
        var keys: [String] = []
        for _ in 0..<200 {
            let scan = try await h.result(["op": "scan", "table": "notifications", "limit": 1000])
            keys = scan["items"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []
            if keys.count >= count { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        return keys.sorted()
    }

    @Test func post_deliversOnePutPerFriend_andARetryDeliversNothingMore() async throws {
        let h = try Self.harness()
        let friends = (0..<12).map { "friend\($0)" }
        _ = try await h.send(["op": "put", "table": "friends", "key": "ann", "value": .object(Dictionary(uniqueKeysWithValues: friends.map { ($0, JSON.bool(true)) }))])
        // The friends' notifications live in several partitions, not only the author's.
        #expect(Set(friends.map { h.partition(of: "notifications", "\($0)/m1") }).count > 1)

        let first = try await h.send(Self.post("p1", author: "ann", message: "m1"))
        #expect(first.error == nil, "\(first.body)")
        #expect(try JSON(parsing: first.body)["outcome"]?["stages"] == ["store: applied", "notify: applied"])
        #expect(try await Self.notifications(h, expecting: 12) == friends.map { "\($0)/m1" }.sorted())
        let one = try await h.result(["op": "get", "table": "notifications", "key": "friend3/m1"])
        #expect(one["value"] == ["from": "ann", "text": "hello"])

        let retry = try await h.send(Self.post("p1", author: "ann", message: "m1"))
        #expect(retry.body == first.body, "a retry returns the first outcome")
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await Self.notifications(h, expecting: 13).count == 12)

        h.engine.close()
        let scratch = NSTemporaryDirectory() + "eddy-audit-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let report = try Auditor.audit(dataDirectory: h.directory, declarations: Self.declarations(), scratchDirectory: scratch)
        #expect(report.isClean, "\(report.partitions.flatMap(\.problems))")
    }

    @Test func post_afterAnUnfriend_doesNotNotifyTheExFriend() async throws {
        let h = try Self.harness()
        _ = try await h.send(["op": "put", "table": "friends", "key": "ann", "value": ["bob": true, "cat": true]])
        let unfriend = try await h.result(["op": "patch", "table": "friends", "key": "ann", "value": ["bob": .null]])
        let post = Self.post("p2", author: "ann", message: "m2", after: unfriend["position"] ?? .null)
        #expect(try await h.result(post)["outcome"]?["status"] == "applied")
        #expect(try await Self.notifications(h, expecting: 1) == ["cat/m2"])
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await Self.notifications(h, expecting: 2) == ["cat/m2"])
    }

    @Test func post_withMoreFriendsThanDeliveriesMax_isRejectedWhole_andTheMessageUndone() async throws {
        let h = try Self.harness(deliveriesMax: 3)
        _ = try await h.send(["op": "put", "table": "friends", "key": "ann", "value": ["a": true, "b": true, "c": true, "d": true]])
        let result = try await h.send(Self.post("p3", author: "ann", message: "m3"))
        #expect(result.error?.code == .batchTooLarge, "\(result.body)")
        #expect(try JSON(parsing: result.body)["outcome"]?["stages"] == ["store: applied", "notify: rejected", "store: undone"])
        #expect(try await h.result(["op": "get", "table": "messages", "key": "m3"])["found"] == false)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await Self.notifications(h, expecting: 1).isEmpty, "nothing is delivered from a rejected stage")
    }

    @Test func post_whoseListIsNotAList_isRejectedWithExpressionFailed() async throws {
        let h = try Self.harness()
        _ = try await h.send(["op": "put", "table": "friends", "key": "ann", "value": 7])
        let result = try await h.send(Self.post("p4", author: "ann", message: "m4"))
        #expect(result.error?.code == .expressionFailed)
        #expect(result.error?.message.contains("keys needs an object") == true, "\(result.body)")
    }
}
