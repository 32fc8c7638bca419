import Testing
import EddyModel

/// `Event.canonicalJSON` writes the log's bytes and the request fingerprint's input field by
/// field. Both must stay byte for byte what the dictionary-built form gave: records already
/// in a log were written that way, and a retry's fingerprint must still match an ID's stored
/// one after an upgrade. The reference below is that earlier form, kept as the oracle.
@Suite struct EventCanonicalJSONTests {
    @Test func canonicalJSON_ofRandomEventsOfEveryOp_equalsTheDictionaryBuiltForm() throws {
        var rng = SplitMix64(seed: 0xCA70_0001)
        for index in 0..<2000 {
            let event = Self.randomEvent(using: &rng)
            #expect(event.canonicalJSON() == Self.reference(event, essence: false).serialized(), "case \(index): \(event)")
            #expect(event.canonicalJSON(.essence) == Self.reference(event, essence: true).serialized(), "case \(index): \(event)")
        }
    }

    @Test func json_parsesBackToTheEventsCanonicalForm() throws {
        var rng = SplitMix64(seed: 0xCA70_0002)
        for _ in 0..<200 {
            let event = Self.randomEvent(using: &rng)
            #expect(event.json == Self.reference(event, essence: false))
        }
    }

    @Test func essence_leavesOutIDClientContextAndServerFields_only() {
        var event = Event(id: "r1", op: .put, table: "t", key: "k", value: ["a": 1], client: "c",
                          after: Position(partition: 1, offset: 2), causedBy: ["x"])
        event.version = 3
        #expect(String(decoding: event.canonicalJSON(.essence), as: UTF8.self) == #"{"key":"k","op":"put","table":"t","value":{"a":1}}"#)
        #expect(String(decoding: event.canonicalJSON(), as: UTF8.self)
                == #"{"after":"1:2","causedBy":["x"],"client":"c","id":"r1","key":"k","op":"put","table":"t","value":{"a":1},"version":3}"#)
    }

    /// The event's JSON as it was built before `canonicalJSON`: a dictionary, serialized.
    static func reference(_ event: Event, essence: Bool) -> JSON {
        var object: [String: JSON] = ["op": .string(event.op.rawValue)]
        if !event.op.spansPartitions { object["table"] = .string(event.table) }
        if !essence, let id = event.id { object["id"] = .string(id) }
        if let key = event.key { object["key"] = .string(key) }
        if let value = event.value { object["value"] = value }
        if let field = event.field { object["field"] = .string(field) }
        if let amount = event.amount { object["by"] = .number(amount) }
        if let prefix = event.prefix { object["prefix"] = .string(prefix) }
        if let limit = event.limit { object["limit"] = .number(Double(limit)) }
        if !essence, let client = event.client { object["client"] = .string(client) }
        if !essence, let after = event.after, !after.isEmpty { object["after"] = .string(after.token) }
        if !essence, !event.causedBy.isEmpty { object["causedBy"] = .array(event.causedBy.map(JSON.string)) }
        if let from = event.from { object["from"] = .string(from.token) }
        if let name = event.name { object[event.op == .call ? "procedure" : "query"] = .string(name) }
        if let input = event.input { object["input"] = input }
        if !event.keys.isEmpty {
            object["keys"] = .array(event.keys.map { ["table": .string($0.table), "key": .string($0.key)] })
        }
        if !essence, let parts = event.parts { object["parts"] = parts }
        if let progress = event.progress { object["progress"] = progress }
        if let source = event.source { object["source"] = .string(source) }
        if !essence, let version = event.version { object["version"] = .number(Double(version)) }
        return .object(object)
    }

    /// Any op, each optional field present or not at random (shapes the parser would refuse
    /// included: the writer must not depend on them being valid).
    static func randomEvent(using rng: inout SplitMix64) -> Event {
        func maybe<T>(_ make: () -> T) -> T? { Bool.random(using: &rng) ? make() : nil }
        let op = Op.allCases.randomElement(using: &rng)!
        var event = Event(op: op, table: op.spansPartitions ? "" : RandomJSON.string(using: &rng))
        event.id = maybe { RandomJSON.string(using: &rng) }
        event.key = maybe { RandomJSON.string(using: &rng) }
        event.value = maybe { RandomJSON.value(depth: 1, using: &rng) }
        event.field = maybe { RandomJSON.string(using: &rng) }
        event.amount = maybe { RandomJSON.number(using: &rng) }
        event.prefix = maybe { RandomJSON.string(using: &rng) }
        event.limit = maybe { Int.random(in: 1...1000, using: &rng) }
        event.client = maybe { RandomJSON.string(using: &rng) }
        event.after = maybe { Position(partition: Int.random(in: 0..<8, using: &rng), offset: UInt64.random(in: 1...1_000_000, using: &rng)) }
        event.causedBy = (0..<Int.random(in: 0...2, using: &rng)).map { _ in RandomJSON.string(using: &rng) }
        event.from = maybe { Position(partition: Int.random(in: 0..<8, using: &rng), offset: UInt64.random(in: 1...1_000_000, using: &rng)) }
        event.name = maybe { RandomJSON.string(using: &rng) }
        event.input = maybe { RandomJSON.value(depth: 1, using: &rng) }
        event.keys = (0..<Int.random(in: 0...2, using: &rng)).map { _ in
            TableKey(table: RandomJSON.string(using: &rng), key: RandomJSON.string(using: &rng))
        }
        event.parts = maybe { RandomJSON.value(depth: 1, using: &rng) }
        event.progress = maybe { RandomJSON.value(depth: 1, using: &rng) }
        event.source = maybe { RandomJSON.string(using: &rng) }
        event.version = maybe { UInt64.random(in: 0...1_000_000, using: &rng) }
        return event
    }
}
