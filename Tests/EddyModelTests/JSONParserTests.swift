import Testing
import EddyModel

/// Inputs that must parse, and what they parse to.
@Suite struct JSONParserTests {
    @Test func parse_literals() throws {
        #expect(try JSON(parsing: "null") == .null)
        #expect(try JSON(parsing: "true") == .bool(true))
        #expect(try JSON(parsing: "false") == .bool(false))
    }

    @Test func parse_whenSurroundedByWhitespace_ignoresIt() throws {
        #expect(try JSON(parsing: " \t\r\n[ 1 , { \"a\" : 2 } ]\n ") == [1, ["a": 2]])
    }

    @Test(arguments: [
        ("0", 0.0), ("-0", -0.0), ("7", 7), ("-12", -12), ("1.5", 1.5), ("-0.25", -0.25),
        ("1e2", 100), ("1E+2", 100), ("1e-2", 0.01), ("0.1", 0.1), ("0.000123", 0.000123),
        ("12345678901234567890", 12345678901234567890.0),
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("9007199254740993", 9007199254740992.0),  // rounds to nearest even
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("2.2250738585072014e-308", 2.2250738585072014e-308),
        ("4.9e-324", Double.leastNonzeroMagnitude),
        ("1e-400", 0.0),  // underflow is not an error: the nearest Double is 0
        ("0e99999", 0.0),
        ("3.141592653589793", 3.141592653589793),
    ])
    func parse_numbers_giveCorrectlyRoundedDouble(text: String, expected: Double) throws {
        let value = try #require(try JSON(parsing: text).numberValue)
        #expect(value == expected)
        #expect(value.sign == expected.sign)
    }

    @Test func parse_numbers_matchStandardLibraryForRandomDecimals() throws {
        // The parser converts short decimals itself (exact fast path) and defers the rest to
        // the standard library; both must agree with the standard library bit for bit.
        var rng = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<5_000 {
            let digits = Int.random(in: 1...20, using: &rng)
            var text = Int.random(in: 0...1, using: &rng) == 0 ? "" : "-"
            text += String(Int.random(in: 1...9, using: &rng))
            for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &rng)) }
            let pointAt = Int.random(in: 0...digits, using: &rng)
            if pointAt > 0 && pointAt < digits {
                let prefix = text.count - digits + pointAt
                text.insert(".", at: text.index(text.startIndex, offsetBy: prefix))
            }
            if Int.random(in: 0...1, using: &rng) == 0 { text += "e\(Int.random(in: -40...40, using: &rng))" }
            let expected = try #require(Double(text))
            let parsed = try JSON(parsing: text).numberValue
            #expect(parsed == expected, "\(text)")
        }
    }

    @Test func parse_stringWithAllSimpleEscapes_decodesThem() throws {
        #expect(try JSON(parsing: #""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
    }

    @Test func parse_unicodeEscapes_decodeToScalars() throws {
        #expect(try JSON(parsing: #""\u0041\u00e9\u20AC\u0000""#) == .string("Aé€\u{0}"))
    }

    @Test func parse_surrogatePairEscape_decodesToAstralScalar() throws {
        #expect(try JSON(parsing: #""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSON(parsing: #""a\uD83D\uDE00b""#) == .string("a😀b"))
    }

    @Test func parse_rawMultiByteUTF8_isKept() throws {
        #expect(try JSON(parsing: "\"héllo €𝄞 😀\"") == .string("héllo €𝄞 😀"))
    }

    @Test func parse_longStrings_withEscapeAfterFastPrefix_decodeCorrectly() throws {
        // Exercises the eight-bytes-at-a-time scan on both sides of an escape.
        let long = String(repeating: "abcdefgh", count: 10)
        #expect(try JSON(parsing: "\"\(long)\\n\(long)é\(long)\"") == .string(long + "\n" + long + "é" + long))
    }

    @Test func parse_whenDuplicateKeys_lastOneWins() throws {
        #expect(try JSON(parsing: #"{"a":1,"b":2,"a":3}"#) == ["a": 3, "b": 2])
    }

    @Test func parse_nestedDocument() throws {
        let doc = try JSON(parsing: #"{"users":[{"name":"ann","age":31,"tags":[]},{"name":"bob","admin":true,"x":null}],"n":{}}"#)
        #expect(doc == [
            "users": [["name": "ann", "age": 31, "tags": []], ["name": "bob", "admin": true, "x": nil]],
            "n": [:],
        ])
    }

    @Test func parse_fromUnsafeRawBufferPointer_matchesOtherEntryPoints() throws {
        let bytes = Array(#"{"k":[1,2]}"#.utf8)
        let viaPointer = try bytes.withUnsafeBytes { try JSON(parsing: $0) }
        #expect(viaPointer == (try JSON(parsing: bytes)))
        #expect(viaPointer == (try JSON(parsing: #"{"k":[1,2]}"#)))
    }

    @Test func parse_atExactlyMaxDepth_succeeds() throws {
        #expect(throws: Never.self) { try JSON(parsing: nestedArrays(depth: 32)) }
        #expect(throws: Never.self) { try JSON(parsing: nestedObjects(depth: 32)) }
        #expect(throws: Never.self) { try JSON(parsing: nestedArrays(depth: 5), maxDepth: 5) }
        #expect(try JSON(parsing: "[]", maxDepth: 1) == [])
        #expect(try JSON(parsing: "7", maxDepth: 0) == 7)
    }
}
