/// Why a document was rejected. `kind.rawValue` is the stable code sent to clients;
/// `message` is for humans and always ends with "at byte N".
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case malformed = "malformed_json"
        case invalidUTF8 = "invalid_utf8"
        case tooDeep = "too_deep"
    }

    public var kind: Kind
    public var message: String
    public var byteOffset: Int

    public init(kind: Kind, message: String, byteOffset: Int) {
        self.kind = kind
        self.message = message
        self.byteOffset = byteOffset
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

extension JSON {
    /// Parses exactly one JSON value (RFC 8259), surrounded by optional whitespace.
    ///
    /// Strict: no comments, trailing commas, leading zeros, NaN/Infinity, single quotes or raw
    /// control characters in strings; numbers that overflow `Double` are rejected; duplicate
    /// object keys keep the last value.
    ///
    /// If the input contains invalid UTF-8 anywhere, the error is `.invalidUTF8` (at the first
    /// bad byte) even when a syntax error comes earlier, so clients get one consistent answer.
    ///
    /// Containers nested deeper than `maxDepth` (the top-level container is depth 1) throw
    /// `.tooDeep`. The parser recurses once per nesting level, so `maxDepth` also bounds its
    /// stack use: keep it modest (hundreds, not millions).
    public init(parsing bytes: UnsafeRawBufferPointer, maxDepth: Int = 32) throws(JSONParseError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            throw JSONParseError(kind: .malformed, message: "empty input at byte 0", byteOffset: 0)
        }
        var parser = JSONByteParser(base: base, count: bytes.count, maxDepth: maxDepth)
        do throws(JSONParseError) {
            self = try parser.parseDocument()
        } catch {
            // A successful parse has validated every byte, but a failed one stopped early;
            // scan the whole input so invalid UTF-8 wins regardless of where it sits.
            if error.kind != .invalidUTF8, let bad = UTF8Validation.firstInvalidOffset(base, count: bytes.count) {
                throw JSONParseError.invalidUTF8(at: bad)
            }
            throw error
        }
    }

    public init(parsing bytes: [UInt8], maxDepth: Int = 32) throws(JSONParseError) {
        // Route the typed error out through a Result: `withUnsafeBytes` only rethrows `any Error`.
        let result = bytes.withUnsafeBytes { buffer -> Result<JSON, JSONParseError> in
            do throws(JSONParseError) {
                return .success(try JSON(parsing: buffer, maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    public init(parsing string: String, maxDepth: Int = 32) throws(JSONParseError) {
        // `withUTF8` needs a mutable copy; for native strings that is just a retain, no copy of the bytes.
        var string = string
        let result = string.withUTF8 { utf8 -> Result<JSON, JSONParseError> in
            do throws(JSONParseError) {
                return .success(try JSON(parsing: UnsafeRawBufferPointer(utf8), maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }
}

extension JSONParseError {
    static func malformed(_ what: String, at offset: Int) -> JSONParseError {
        JSONParseError(kind: .malformed, message: "\(what) at byte \(offset)", byteOffset: offset)
    }

    static func invalidUTF8(at offset: Int) -> JSONParseError {
        JSONParseError(kind: .invalidUTF8, message: "invalid UTF-8 sequence at byte \(offset)", byteOffset: offset)
    }
}

// MARK: - Parser

/// Recursive-descent parser over raw bytes. A struct with a raw pointer and an index keeps
/// the hot loops free of bounds-check traps on input-dependent paths (every read is guarded
/// by `index < end`) and of ARC traffic.
struct JSONByteParser {
    private let base: UnsafeRawPointer
    private let end: Int
    private let maxDepth: Int
    private var index = 0
    private var depth = 0
    /// Reused across strings that contain escapes so each one costs no fresh allocation.
    private var scratch: [UInt8] = []
    /// Shared stacks of the elements and members of the containers being parsed. Each container
    /// collects on top of the stack from its own base index and pops its region when it closes,
    /// so the final Array or Dictionary is allocated once at its exact size instead of growing
    /// (for dictionaries, every growth rehashes all keys).
    private var elementStack: [JSON] = []
    private var memberStack: [Member] = []

    /// A named struct rather than a tuple, so copying and destroying members stays in
    /// specialized code instead of going through generic tuple metadata at runtime.
    private struct Member {
        var key: String
        var value: JSON
    }

    init(base: UnsafeRawPointer, count: Int, maxDepth: Int) {
        self.base = base
        self.end = count
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSON {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index < end {
            throw .malformed("unexpected \(describeByte(at: index)) after the JSON value", at: index)
        }
        return value
    }

    // MARK: Bytes

    @inline(__always)
    private func byte(at offset: Int) -> UInt8 {
        base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < end {
            switch byte(at: index) {
            case .space, .tab, .lineFeed, .carriageReturn: index += 1
            default: return
            }
        }
    }

    private func describeByte(at offset: Int) -> String {
        let b = byte(at: offset)
        if b >= 0x21 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    // MARK: Values

    private mutating func parseValue() throws(JSONParseError) -> JSON {
        guard index < end else { throw .malformed("unexpected end of input, expected a value", at: index) }
        switch byte(at: index) {
        case .openBrace: return try parseObject()
        case .openBracket: return try parseArray()
        case .quote:
            index += 1
            return .string(try parseStringBody())
        case .t:
            try expectLiteral("true")
            return .bool(true)
        case .f:
            try expectLiteral("false")
            return .bool(false)
        case .n:
            try expectLiteral("null")
            return .null
        case .minus, .digit0 ... .digit9:
            return .number(try parseNumber())
        default:
            throw .malformed("unexpected \(describeByte(at: index)), expected a value", at: index)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let start = index
        // Compare byte by byte; `literal` is ASCII so no decoding is needed.
        guard end - start >= count else { throw .malformed("invalid literal", at: start) }
        let expected = literal.utf8Start
        for i in 0..<count where byte(at: start + i) != expected[i] {
            throw .malformed("invalid literal", at: start)
        }
        index += count
    }

    private mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth {
            throw JSONParseError(
                kind: .tooDeep,
                message: "nesting deeper than \(maxDepth) at byte \(index)",
                byteOffset: index
            )
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSON {
        try enterContainer()
        index += 1  // '['
        skipWhitespace()
        if index < end && byte(at: index) == .closeBracket {
            index += 1
            depth -= 1
            return .array([])
        }
        let stackStart = elementStack.count
        while true {
            let element = try parseValue()
            elementStack.append(element)
            skipWhitespace()
            guard index < end else { throw .malformed("unterminated array, expected ',' or ']'", at: index) }
            switch byte(at: index) {
            case .comma:
                index += 1
                skipWhitespace()
                if index < end && byte(at: index) == .closeBracket {
                    throw .malformed("trailing comma in array", at: index)
                }
            case .closeBracket:
                index += 1
                depth -= 1
                let elements = Array(elementStack[stackStart...])
                elementStack.removeSubrange(stackStart...)
                return .array(elements)
            default:
                throw .malformed("expected ',' or ']' in array, found \(describeByte(at: index))", at: index)
            }
        }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSON {
        try enterContainer()
        index += 1  // '{'
        skipWhitespace()
        if index < end && byte(at: index) == .closeBrace {
            index += 1
            depth -= 1
            return .object([:])
        }
        let stackStart = memberStack.count
        while true {
            guard index < end else { throw .malformed("unterminated object, expected a string key", at: index) }
            guard byte(at: index) == .quote else {
                throw .malformed("expected a string key in object, found \(describeByte(at: index))", at: index)
            }
            index += 1
            let key = try parseStringBody()
            skipWhitespace()
            guard index < end, byte(at: index) == .colon else {
                throw .malformed("expected ':' after object key", at: index)
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            memberStack.append(Member(key: key, value: value))
            skipWhitespace()
            guard index < end else { throw .malformed("unterminated object, expected ',' or '}'", at: index) }
            switch byte(at: index) {
            case .comma:
                index += 1
                skipWhitespace()
                if index < end && byte(at: index) == .closeBrace {
                    throw .malformed("trailing comma in object", at: index)
                }
            case .closeBrace:
                index += 1
                depth -= 1
                var members = [String: JSON](minimumCapacity: memberStack.count - stackStart)
                for member in memberStack[stackStart...] {
                    // Assignment in document order: a duplicate key overwrites, so the last one wins.
                    members[member.key] = member.value
                }
                memberStack.removeSubrange(stackStart...)
                return .object(members)
            default:
                throw .malformed("expected ',' or '}' in object, found \(describeByte(at: index))", at: index)
            }
        }
    }

    // MARK: Numbers

    /// Validates the RFC 8259 number grammar while accumulating the decimal digits, so the
    /// common case (≤ 2^53 significand, small exponent) converts exactly without a String.
    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        var negative = false
        if byte(at: index) == .minus {
            negative = true
            index += 1
        }
        guard index < end, isDigit(byte(at: index)) else {
            throw .malformed("expected a digit in number", at: index)
        }

        var significand: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        // Set once a digit no longer fits in `significand`; such numbers take the slow path.
        var truncated = false

        if byte(at: index) == .digit0 {
            index += 1
            if index < end && isDigit(byte(at: index)) {
                throw .malformed("leading zeros are not allowed in numbers", at: start)
            }
        } else {
            while index < end {
                let b = byte(at: index)
                guard isDigit(b) else { break }
                if significantDigits < 19 {
                    significand = significand &* 10 &+ UInt64(b &- .digit0)
                    significantDigits += 1
                } else {
                    truncated = true
                }
                index += 1
            }
        }

        if index < end && byte(at: index) == .period {
            index += 1
            guard index < end, isDigit(byte(at: index)) else {
                throw .malformed("expected a digit after the decimal point", at: index)
            }
            while index < end {
                let b = byte(at: index)
                guard isDigit(b) else { break }
                if significand == 0 && b == .digit0 {
                    exponent -= 1  // a leading fraction zero only shifts the exponent
                } else if significantDigits < 19 {
                    significand = significand &* 10 &+ UInt64(b &- .digit0)
                    significantDigits += 1
                    exponent -= 1
                } else {
                    truncated = true
                }
                index += 1
            }
        }

        if index < end && (byte(at: index) == .e || byte(at: index) == .upperE) {
            index += 1
            var exponentNegative = false
            if index < end && (byte(at: index) == .plus || byte(at: index) == .minus) {
                exponentNegative = byte(at: index) == .minus
                index += 1
            }
            guard index < end, isDigit(byte(at: index)) else {
                throw .malformed("expected a digit in exponent", at: index)
            }
            var explicit = 0
            while index < end {
                let b = byte(at: index)
                guard isDigit(b) else { break }
                // Saturate: anything past 10^6 is already far outside Double's range.
                if explicit < 1_000_000 { explicit = explicit * 10 + Int(b &- .digit0) }
                index += 1
            }
            exponent += exponentNegative ? -explicit : explicit
        }

        // Exact fast path (Clinger): both the significand and 10^|e| are exact Doubles,
        // so one IEEE multiply or divide gives the correctly rounded result.
        if !truncated {
            if significand == 0 { return negative ? -0.0 : 0.0 }
            if significand <= 1 << 53 && exponent >= -22 && exponent <= 22 {
                var value = Double(significand)
                if exponent < 0 {
                    value /= exactPowersOfTen[-exponent]
                } else {
                    value *= exactPowersOfTen[exponent]
                }
                return negative ? -value : value
            }
        }

        // Slow path: the grammar is already validated, and JSON numbers are a subset of what
        // the standard library's correctly rounded decimal parser accepts.
        let text = String(decoding: UnsafeRawBufferPointer(start: base + start, count: index - start), as: UTF8.self)
        guard let value = Double(text) else { throw .malformed("invalid number", at: start) }
        guard value.isFinite else { throw .malformed("number out of range", at: start) }
        return value
    }

    @inline(__always)
    private func isDigit(_ b: UInt8) -> Bool { b &- .digit0 < 10 }

    // MARK: Strings

    /// Parses string contents after the opening quote, consuming the closing quote.
    /// Fast path: no escapes, so the String is built once from the validated byte range.
    private mutating func parseStringBody() throws(JSONParseError) -> String {
        let start = index
        while true {
            skipPlainASCII()
            guard index < end else { throw .malformed("unterminated string", at: start - 1) }
            let b = byte(at: index)
            if b == .quote {
                let string = String(decoding: UnsafeRawBufferPointer(start: base + start, count: index - start), as: UTF8.self)
                index += 1
                return string
            } else if b == .backslash {
                return try parseEscapedString(from: start)
            } else if b < 0x20 {
                throw .malformed("unescaped control character in string", at: index)
            } else {
                // skipPlainASCII stops only at '"', '\\', control characters and non-ASCII bytes.
                try skipMultiByteScalar()
            }
        }
    }

    /// Skips bytes that need no attention (ASCII, not '"', '\\' or a control character),
    /// eight at a time while possible.
    @inline(__always)
    private mutating func skipPlainASCII() {
        while end - index >= 8 {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if wordNeedsAttention(word) { break }
            index += 8
        }
        while index < end {
            let b = byte(at: index)
            guard b >= 0x20 && b < 0x80 && b != .quote && b != .backslash else { return }
            index += 1
        }
    }

    /// SWAR test: does any of the eight bytes equal '"' or '\\', or fall below 0x20 or at/above 0x80?
    /// Borrow propagation can only produce false positives above a byte that truly matched,
    /// and a positive only sends us to the byte loop, so the test is safe.
    @inline(__always)
    private func wordNeedsAttention(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* UInt64(UInt8.quote))
        let backslashes = word ^ (ones &* UInt64(UInt8.backslash))
        let hasQuote = (quotes &- ones) & ~quotes
        let hasBackslash = (backslashes &- ones) & ~backslashes
        let hasControl = (word &- (ones &* 0x20)) & ~word
        return ((hasQuote | hasBackslash | hasControl | word) & highs) != 0
    }

    private mutating func skipMultiByteScalar() throws(JSONParseError) {
        guard let length = UTF8Validation.sequenceLength(base, at: index, end: end) else {
            throw .invalidUTF8(at: index)
        }
        index += length
    }

    /// Slow path for strings with escapes: copies unescaped runs into `scratch` in bulk.
    private mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var runStart = start
        while true {
            skipPlainASCII()
            guard index < end else { throw .malformed("unterminated string", at: start - 1) }
            let b = byte(at: index)
            if b == .quote {
                appendRun(from: runStart)
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            } else if b == .backslash {
                appendRun(from: runStart)
                try parseEscape()
                runStart = index
            } else if b < 0x20 {
                throw .malformed("unescaped control character in string", at: index)
            } else {
                try skipMultiByteScalar()
            }
        }
    }

    @inline(__always)
    private mutating func appendRun(from runStart: Int) {
        if index > runStart {
            scratch.append(contentsOf: UnsafeRawBufferPointer(start: base + runStart, count: index - runStart))
        }
    }

    /// Decodes one escape starting at the backslash and appends its UTF-8 to `scratch`.
    private mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = index
        index += 1  // '\'
        guard index < end else { throw .malformed("unterminated escape sequence", at: escapeStart) }
        let b = byte(at: index)
        index += 1
        switch b {
        case .quote: scratch.append(.quote)
        case .backslash: scratch.append(.backslash)
        case .slash: scratch.append(.slash)
        case .b: scratch.append(0x08)
        case .f: scratch.append(0x0C)
        case .n: scratch.append(.lineFeed)
        case .r: scratch.append(.carriageReturn)
        case .t: scratch.append(.tab)
        case .u:
            let unit = try parseHex4(escapeStart: escapeStart)
            let scalarValue: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate must be followed immediately by an escaped low surrogate.
                guard end - index >= 2, byte(at: index) == .backslash, byte(at: index + 1) == .u else {
                    throw .malformed("unpaired high surrogate in \\u escape", at: escapeStart)
                }
                index += 2
                let low = try parseHex4(escapeStart: index - 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw .malformed("high surrogate not followed by a low surrogate", at: escapeStart)
                }
                scalarValue = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            case 0xDC00...0xDFFF:
                throw .malformed("unpaired low surrogate in \\u escape", at: escapeStart)
            default:
                scalarValue = unit
            }
            appendUTF8(scalarValue)
        default:
            throw .malformed("invalid escape sequence", at: escapeStart)
        }
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard end - index >= 4 else { throw .malformed("truncated \\u escape", at: escapeStart) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = byte(at: index)
            let digit: UInt8
            switch b {
            case .digit0 ... .digit9: digit = b &- .digit0
            case .a ... .f: digit = b &- .a &+ 10
            case .upperA ... .upperF: digit = b &- .upperA &+ 10
            default: throw .malformed("invalid hex digit in \\u escape", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Encodes a scalar value (never a surrogate, at most 0x10FFFF) as UTF-8 into `scratch`.
    private mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            scratch.append(UInt8(truncatingIfNeeded: v))
        case 0x80..<0x800:
            scratch.append(UInt8(truncatingIfNeeded: 0xC0 | v >> 6))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | v & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(truncatingIfNeeded: 0xE0 | v >> 12))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | v & 0x3F))
        default:
            scratch.append(UInt8(truncatingIfNeeded: 0xF0 | v >> 18))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | v & 0x3F))
        }
    }
}

/// 10^0 ... 10^22: every one is exactly representable as a Double, which is what makes the
/// fast path in `parseNumber` exact.
private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

// MARK: - Byte constants

// Computed, not stored: stored statics are lazily initialized globals, and every access
// in a hot loop would pay for the one-time-initialization check.
extension UInt8 {
    @inline(__always) fileprivate static var tab: UInt8 { UInt8(ascii: "\t") }
    @inline(__always) fileprivate static var lineFeed: UInt8 { UInt8(ascii: "\n") }
    @inline(__always) fileprivate static var carriageReturn: UInt8 { UInt8(ascii: "\r") }
    @inline(__always) fileprivate static var space: UInt8 { UInt8(ascii: " ") }
    @inline(__always) fileprivate static var quote: UInt8 { UInt8(ascii: "\"") }
    @inline(__always) fileprivate static var plus: UInt8 { UInt8(ascii: "+") }
    @inline(__always) fileprivate static var comma: UInt8 { UInt8(ascii: ",") }
    @inline(__always) fileprivate static var minus: UInt8 { UInt8(ascii: "-") }
    @inline(__always) fileprivate static var period: UInt8 { UInt8(ascii: ".") }
    @inline(__always) fileprivate static var slash: UInt8 { UInt8(ascii: "/") }
    @inline(__always) fileprivate static var digit0: UInt8 { UInt8(ascii: "0") }
    @inline(__always) fileprivate static var digit9: UInt8 { UInt8(ascii: "9") }
    @inline(__always) fileprivate static var colon: UInt8 { UInt8(ascii: ":") }
    @inline(__always) fileprivate static var upperA: UInt8 { UInt8(ascii: "A") }
    @inline(__always) fileprivate static var upperE: UInt8 { UInt8(ascii: "E") }
    @inline(__always) fileprivate static var upperF: UInt8 { UInt8(ascii: "F") }
    @inline(__always) fileprivate static var openBracket: UInt8 { UInt8(ascii: "[") }
    @inline(__always) fileprivate static var backslash: UInt8 { UInt8(ascii: "\\") }
    @inline(__always) fileprivate static var closeBracket: UInt8 { UInt8(ascii: "]") }
    @inline(__always) fileprivate static var a: UInt8 { UInt8(ascii: "a") }
    @inline(__always) fileprivate static var b: UInt8 { UInt8(ascii: "b") }
    @inline(__always) fileprivate static var e: UInt8 { UInt8(ascii: "e") }
    @inline(__always) fileprivate static var f: UInt8 { UInt8(ascii: "f") }
    @inline(__always) fileprivate static var n: UInt8 { UInt8(ascii: "n") }
    @inline(__always) fileprivate static var r: UInt8 { UInt8(ascii: "r") }
    @inline(__always) fileprivate static var t: UInt8 { UInt8(ascii: "t") }
    @inline(__always) fileprivate static var u: UInt8 { UInt8(ascii: "u") }
    @inline(__always) fileprivate static var openBrace: UInt8 { UInt8(ascii: "{") }
    @inline(__always) fileprivate static var closeBrace: UInt8 { UInt8(ascii: "}") }
}
