import Testing
import EddyModel

@Suite struct JSONWriterTests {
    @Test func serialize_scalars() {
        #expect(JSON.null.serializedString == "null")
        #expect(JSON.bool(true).serializedString == "true")
        #expect(JSON.bool(false).serializedString == "false")
        #expect(JSON.string("hi").serializedString == #""hi""#)
    }

    @Test func serialize_objectKeys_areSortedByUTF8Bytes() {
        let doc: JSON = ["b": 1, "a": 2, "B": 3, "é": 4, "😀": 5, "ab": 6, "": 7, "z": 8]
        // Byte order: "" < "B" (0x42) < "a" < "ab" < "b" < "z" < "é" (0xC3) < "😀" (0xF0).
        #expect(doc.serializedString == #"{"":7,"B":3,"a":2,"ab":6,"b":1,"z":8,"é":4,"😀":5}"#)
    }

    @Test func serialize_nestedContainers_haveNoWhitespace() {
        let doc: JSON = ["x": [1, [2, ["y": nil]], [:], []]]
        #expect(doc.serializedString == #"{"x":[1,[2,{"y":null}],{},[]]}"#)
    }

    @Test(arguments: [
        (3.0, "3"), (-12.0, "-12"), (0.0, "0"), (-0.0, "0"), (1e15, "1000000000000000"),
        (9007199254740991.0, "9007199254740991"), (-9007199254740991.0, "-9007199254740991"),
        (0.1, "0.1"), (-2.5, "-2.5"), (1e300, "1e+300"), (1e20, "1e+20"), (1.5e-7, "1.5e-07"),
        (1e-5, "1e-05"), (Double.leastNonzeroMagnitude, "5e-324"), (9007199254740992.0, "9007199254740992.0"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ])
    func serialize_numbers_useIntegerOrShortestForm(value: Double, expected: String) throws {
        #expect(JSON.number(value).serializedString == expected)
        // Whatever the form, it must be valid JSON that reads back as the same number.
        #expect(try JSON(parsing: expected) == .number(value))
    }

    @Test func serialize_nonFiniteNumbers_writeNull() {
        #expect(JSON.number(.infinity).serializedString == "null")
        #expect(JSON.number(-.infinity).serializedString == "null")
        #expect(JSON.number(.nan).serializedString == "null")
    }

    @Test func serialize_strings_escapeQuoteBackslashAndControlCharacters() {
        let value = JSON.string("\"\\\u{0}\u{1}\u{8}\u{9}\u{A}\u{B}\u{C}\u{D}\u{1F} /\u{7F}")
        #expect(value.serializedString == #""\"\\\u0000\u0001\b\t\n\u000b\f\r\u001f /"# + "\u{7F}\"")
    }

    @Test func serialize_strings_writeNonASCIIAsRawUTF8() {
        let value = JSON.string("é€😀")
        #expect(value.serialized() == [0x22] + Array("é€😀".utf8) + [0x22])
    }

    @Test func writeString_appendsQuotedEscapedLiteral() {
        var buffer = Array("x=".utf8)
        JSON.writeString("a\"b\n", into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"x="a\"b\n""#)
    }

    @Test func serializeInto_appendsToExistingBuffer() {
        var buffer = Array("[".utf8)
        JSON.number(1).serialize(into: &buffer)
        #expect(buffer == Array("[1".utf8))
    }

    @Test func serialize_equalObjectsBuiltInDifferentOrder_giveEqualBytes() {
        var a: [String: JSON] = [:]
        var b: [String: JSON] = [:]
        for i in 0..<100 { a["k\(i)"] = .number(Double(i)) }
        for i in (0..<100).reversed() { b["k\(i)"] = .number(Double(i)) }
        #expect(JSON.object(a).serialized() == JSON.object(b).serialized())
    }

    @Test func roundTrip_parseThenSerialize_givesCanonicalText() throws {
        let text = #" { "b" : [ 1.0 , -0 , 1E2, "\u00e9\/" ] , "a" : { "y" : true , "x" : null } } "#
        #expect(try JSON(parsing: text).serializedString == #"{"a":{"x":null,"y":true},"b":[1,0,100,"é/"]}"#)
    }
}
