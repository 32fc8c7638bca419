import Testing
import EddyModel

@Suite struct JSONValueTests {
    @Test func subscript_onObjectWithKey_returnsMember() {
        let doc: JSON = ["a": 1, "b": nil]
        #expect(doc["a"] == .number(1))
        #expect(doc["b"] == .some(.null))
        #expect(doc["missing"] == nil)
    }

    @Test func subscript_onNonObject_returnsNil() {
        #expect(JSON.array(["a"])["a"] == nil)
        #expect(JSON.string("a")["a"] == nil)
        #expect(JSON.null["a"] == nil)
    }

    @Test func typedAccessors_returnValueOnlyForMatchingCase() {
        #expect(JSON.string("x").stringValue == "x")
        #expect(JSON.number(2).stringValue == nil)
        #expect(JSON.number(2.5).numberValue == 2.5)
        #expect(JSON.string("2").numberValue == nil)
        #expect(JSON.bool(false).boolValue == false)
        #expect(JSON.null.boolValue == nil)
        #expect(JSON.object(["k": true]).objectValue == ["k": .bool(true)])
        #expect(JSON.array([]).objectValue == nil)
        #expect(JSON.array([1, "a"]).arrayValue == [.number(1), .string("a")])
        #expect(JSON.object([:]).arrayValue == nil)
        #expect(JSON.null.isNull)
        #expect(!JSON.bool(false).isNull)
    }

    @Test func typeName_namesEachCase() {
        #expect(JSON.null.typeName == "null")
        #expect(JSON.bool(true).typeName == "boolean")
        #expect(JSON.number(1).typeName == "number")
        #expect(JSON.string("").typeName == "string")
        #expect(JSON.array([]).typeName == "array")
        #expect(JSON.object([:]).typeName == "object")
    }

    @Test func literals_buildMatchingCases() {
        let doc: JSON = ["n": nil, "b": true, "i": 3, "f": 1.5, "s": "x", "a": [1, "two"], "o": ["k": false]]
        let expected = JSON.object([
            "n": .null, "b": .bool(true), "i": .number(3), "f": .number(1.5), "s": .string("x"),
            "a": .array([.number(1), .string("two")]), "o": .object(["k": .bool(false)]),
        ])
        #expect(doc == expected)
    }

    @Test func dictionaryLiteral_withDuplicateKeys_keepsLast() {
        let doc: JSON = ["a": 1, "a": 2]
        #expect(doc == .object(["a": .number(2)]))
    }

    @Test func hashable_equalValuesHashEqual() {
        let set: Set<JSON> = [["a": [1, 2]], ["a": [1, 2]], ["a": [2, 1]]]
        #expect(set.count == 2)
    }

    @Test func description_isCanonicalSerialization() {
        let doc: JSON = ["b": 1, "a": [true, nil]]
        #expect("\(doc)" == #"{"a":[true,null],"b":1}"#)
    }
}
