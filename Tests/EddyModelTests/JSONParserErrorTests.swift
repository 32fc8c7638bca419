import Testing
import EddyModel

/// Inputs that must be rejected, with the right kind and offset.
@Suite struct JSONParserErrorTests {
    // MARK: malformed

    @Test func parse_whenEmpty_isMalformed() {
        #expect(parseFailure("") == JSONParseError(kind: .malformed, message: "empty input at byte 0", byteOffset: 0))
        #expect(parseFailure(" \n\t")?.kind == .malformed)
    }

    @Test func parse_whenEmptyBuffer_isMalformed() {
        let error = parseFailure([UInt8]())
        #expect(error?.kind == .malformed)
        #expect(error?.byteOffset == 0)
    }

    @Test func parse_whenTrailingComma_isMalformed() {
        #expect(parseFailure("[1,2,]")?.kind == .malformed)
        #expect(parseFailure(#"{"a":1,}"#)?.kind == .malformed)
        #expect(parseFailure("[,]")?.kind == .malformed)
    }

    @Test func parse_whenComment_isMalformed() {
        #expect(parseFailure("// c\n1")?.kind == .malformed)
        #expect(parseFailure("[1 /* c */]")?.kind == .malformed)
    }

    @Test func parse_whenLeadingZero_isMalformed() {
        #expect(parseFailure("01")?.kind == .malformed)
        #expect(parseFailure("-01")?.kind == .malformed)
        #expect(parseFailure("[00]")?.kind == .malformed)
    }

    @Test func parse_whenNaNOrInfinity_isMalformed() {
        for text in ["NaN", "Infinity", "-Infinity", "[nan]", "inf"] {
            #expect(parseFailure(text)?.kind == .malformed, "\(text)")
        }
    }

    @Test func parse_whenSingleQuotes_isMalformed() {
        #expect(parseFailure("'a'")?.kind == .malformed)
        #expect(parseFailure("{'a':1}")?.kind == .malformed)
    }

    @Test func parse_whenRawControlCharacterInString_isMalformed() {
        let error = parseFailure("\"a\u{1}b\"")
        #expect(error?.kind == .malformed)
        #expect(error?.byteOffset == 2)
        #expect(parseFailure("\"tab\there\"")?.kind == .malformed)
        #expect(parseFailure("\"line\nbreak\"")?.kind == .malformed)
        #expect(parseFailure("\"\u{0}\"")?.kind == .malformed)
    }

    @Test func parse_whenTrailingNonWhitespace_isMalformed() {
        let error = parseFailure("[1] x")
        #expect(error?.kind == .malformed)
        #expect(error?.byteOffset == 4)
        #expect(parseFailure("1 2")?.kind == .malformed)
        #expect(parseFailure("{}}")?.kind == .malformed)
    }

    @Test func parse_whenNumberOverflowsDouble_isMalformed() {
        #expect(parseFailure("1e400")?.kind == .malformed)
        #expect(parseFailure("-1e400")?.kind == .malformed)
        #expect(parseFailure("1" + String(repeating: "0", count: 400))?.kind == .malformed)
    }

    @Test func parse_whenMissingColon_reportsOffsetInMessage() {
        #expect(parseFailure(#"{"a" 1}"#) == JSONParseError(
            kind: .malformed, message: "expected ':' after object key at byte 5", byteOffset: 5))
    }

    @Test func parse_whenLoneHighSurrogateEscape_isMalformed() {
        #expect(parseFailure(#""\uD800""#)?.kind == .malformed)
        #expect(parseFailure(#""\uD800x""#)?.kind == .malformed)
    }

    @Test func parse_whenLoneLowSurrogateEscape_isMalformed() {
        #expect(parseFailure(#""\uDC00""#)?.kind == .malformed)
    }

    @Test func parse_whenHighSurrogateFollowedByNonLowEscape_isMalformed() {
        #expect(parseFailure(#""\uD800\u0041""#)?.kind == .malformed)
        #expect(parseFailure(#""\uD800\uD800""#)?.kind == .malformed)
        #expect(parseFailure(#""\uD800\n""#)?.kind == .malformed)
    }

    @Test(arguments: [
        " ", "[", "]", "{", "}", "[1", "[1 2]", "{\"a\":1", "{\"a\"}", "{1:2}", "{\"a\":}", ":",
        "tru", "nul", "fals", "truex", "True", "\"abc", "\"abc\\", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"",
        "-", "+1", ".5", "1.", "1.e5", "1e", "1e+", "--1", "0x10", "1_000", "[1,,2]", "[1;2]",
    ])
    func parse_whenSyntaxIsInvalid_isMalformed(text: String) {
        let error = parseFailure(text)
        #expect(error?.kind == .malformed)
        #expect(error?.message.contains("at byte \(error?.byteOffset ?? -1)") == true)
    }

    // MARK: invalidUTF8

    @Test(arguments: [
        ([0x22, 0xC0, 0x80, 0x22], 1),  // overlong NUL
        ([0x22, 0xE0, 0x80, 0xAF, 0x22], 1),  // overlong '/'
        ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),  // UTF-16 surrogate U+D800 encoded in UTF-8
        ([0x22, 0xFF, 0x22], 1),
        ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], 1),  // lead byte above 0xF4
        ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1),  // above U+10FFFF
        ([0x22, 0x61, 0x80, 0x22], 2),  // stray continuation byte
        ([0x22, 0xE2, 0x82], 1),  // truncated at end of input
        ([0x22, 0xE2, 0x82, 0x22], 1),  // truncated by the closing quote
        ([0x22, 0xF0, 0x9F, 0x98, 0x22], 1),  // truncated four-byte sequence
    ] as [([UInt8], Int)])
    func parse_whenStringHasInvalidUTF8_isInvalidUTF8(bytes: [UInt8], offset: Int) {
        let error = parseFailure(bytes)
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.byteOffset == offset)
    }

    @Test func parse_whenInvalidUTF8OutsideString_isInvalidUTF8() {
        #expect(parseFailure([0xFF])?.kind == .invalidUTF8)
        #expect(parseFailure(Array("[1,".utf8) + [0xC0, 0x80] + Array("]".utf8))?.kind == .invalidUTF8)
        #expect(parseFailure(Array("{} ".utf8) + [0xE2, 0x82])?.byteOffset == 3)
    }

    @Test func parse_whenInvalidUTF8FollowsSyntaxError_reportsInvalidUTF8() {
        // Invalid UTF-8 anywhere wins over an earlier syntax error.
        let error = parseFailure(Array("[1,,\"".utf8) + [0xED, 0xA0, 0x80] + Array("\"]".utf8))
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.byteOffset == 5)
    }

    @Test func parse_whenValidNonASCIIOutsideString_isMalformed() {
        #expect(parseFailure("[é]")?.kind == .malformed)
    }

    // MARK: tooDeep

    @Test func parse_whenOneLevelPastMaxDepth_isTooDeep() {
        let arrays = parseFailure(nestedArrays(depth: 33))
        #expect(arrays?.kind == .tooDeep)
        #expect(arrays?.byteOffset == 32)
        #expect(parseFailure(nestedObjects(depth: 33))?.kind == .tooDeep)
        #expect(parseFailure(nestedArrays(depth: 6), maxDepth: 5)?.kind == .tooDeep)
        #expect(parseFailure("[[]]", maxDepth: 1)?.kind == .tooDeep)
        #expect(parseFailure("[]", maxDepth: 0)?.kind == .tooDeep)
        #expect(parseFailure("{}", maxDepth: 0)?.kind == .tooDeep)
    }

    @Test func parse_when100000NestedArrays_isTooDeepWithoutCrashing() {
        let error = parseFailure([UInt8](repeating: UInt8(ascii: "["), count: 100_000))
        #expect(error?.kind == .tooDeep)
        #expect(error?.byteOffset == 32)
    }

    @Test func parseError_kindRawValues_areStableCodes() {
        #expect(JSONParseError.Kind.malformed.rawValue == "malformed_json")
        #expect(JSONParseError.Kind.invalidUTF8.rawValue == "invalid_utf8")
        #expect(JSONParseError.Kind.tooDeep.rawValue == "too_deep")
    }
}
