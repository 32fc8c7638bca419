/// Splits expression text into tokens. Columns are 1-based UTF-8 offsets.
struct Lexer {
    enum Kind: Equatable {
        case number(Double)
        case string(String)
        case identifier(String)
        case symbol(String)
        case end
    }

    struct Token: Equatable {
        var kind: Kind
        var column: Int
    }

    private static let symbols = ["&&", "||", "??", "==", "!=", "<=", ">=", "+", "-", "*", "/", "<", ">", "!", "(", ")", ",", "."]

    static func tokens(_ text: String) throws(ExpressionSyntaxError) -> [Token] {
        let bytes = Array(text.utf8)
        var tokens: [Token] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let column = index + 1
            if byte == 32 || byte == 9 || byte == 10 || byte == 13 {
                index += 1
            } else if isDigit(byte) {
                let start = index
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
                if index < bytes.count, bytes[index] == UInt8(ascii: "."), index + 1 < bytes.count, isDigit(bytes[index + 1]) {
                    index += 1
                    while index < bytes.count, isDigit(bytes[index]) { index += 1 }
                }
                let literal = String(decoding: bytes[start..<index], as: UTF8.self)
                guard let value = Double(literal) else { throw ExpressionSyntaxError(column: column, reason: "'\(literal)' is not a number") }
                tokens.append(Token(kind: .number(value), column: column))
            } else if isIdentifierStart(byte) {
                let start = index
                while index < bytes.count, isIdentifierStart(bytes[index]) || isDigit(bytes[index]) { index += 1 }
                tokens.append(Token(kind: .identifier(String(decoding: bytes[start..<index], as: UTF8.self)), column: column))
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                let quote = byte
                index += 1
                var value: [UInt8] = []
                while true {
                    guard index < bytes.count else { throw ExpressionSyntaxError(column: column, reason: "string is not closed") }
                    let next = bytes[index]
                    if next == quote { index += 1; break }
                    if next == UInt8(ascii: "\\") {
                        guard index + 1 < bytes.count else { throw ExpressionSyntaxError(column: index + 1, reason: "string is not closed") }
                        let escaped = bytes[index + 1]
                        switch escaped {
                        case UInt8(ascii: "n"): value.append(10)
                        case UInt8(ascii: "t"): value.append(9)
                        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): value.append(escaped)
                        default: throw ExpressionSyntaxError(column: index + 1, reason: "unknown escape '\\\(Character(Unicode.Scalar(escaped)))'")
                        }
                        index += 2
                        continue
                    }
                    value.append(next)
                    index += 1
                }
                tokens.append(Token(kind: .string(String(decoding: value, as: UTF8.self)), column: column))
            } else if let symbol = symbols.first(where: { matches($0, bytes, at: index) }) {
                tokens.append(Token(kind: .symbol(symbol), column: column))
                index += symbol.utf8.count
            } else {
                let character = String(decoding: bytes[index..<min(index + 1, bytes.count)], as: UTF8.self)
                throw ExpressionSyntaxError(column: column, reason: "unexpected character '\(character)'")
            }
        }
        tokens.append(Token(kind: .end, column: bytes.count + 1))
        return tokens
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
    }

    private static func matches(_ symbol: String, _ bytes: [UInt8], at index: Int) -> Bool {
        let symbolBytes = Array(symbol.utf8)
        guard index + symbolBytes.count <= bytes.count else { return false }
        return Array(bytes[index..<(index + symbolBytes.count)]) == symbolBytes
    }
}
