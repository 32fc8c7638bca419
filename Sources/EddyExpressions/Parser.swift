import EddyModel

extension Expression {
    /// Longest expression text accepted, and deepest nesting: a declaration is code the
    /// server runs on every event, so its size is bounded like any other input.
    public static let textBytesMax = 4096
    public static let depthMax = 64

    /// Parses expression text, e.g. `0.4 * (ip.score ?? 0.5) + 0.3 * (email.score ?? 0.5)`.
    public init(parsing text: String) throws(ExpressionSyntaxError) {
        guard text.utf8.count <= Self.textBytesMax else {
            throw ExpressionSyntaxError(column: 1, reason: "expression is longer than \(Self.textBytesMax) bytes")
        }
        var parser = Parser(tokens: try Lexer.tokens(text))
        let expression = try parser.parseOr()
        guard parser.current.kind == .end else {
            throw ExpressionSyntaxError(column: parser.current.column, reason: "unexpected \(parser.describe(parser.current)) after the end of the expression")
        }
        self = expression
    }
}

/// Precedence climbing, lowest first: `||`, `&&`, comparisons, `??` (right-associative,
/// binding tighter than comparisons as in Swift), `+ -`, `* /`, unary `- !`, then field
/// access and calls.
private struct Parser {
    let tokens: [Lexer.Token]
    var position = 0
    var depth = 0

    var current: Lexer.Token { tokens[position] }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    mutating func take(_ symbol: String) -> Bool {
        if current.kind == .symbol(symbol) {
            advance()
            return true
        }
        return false
    }

    mutating func expect(_ symbol: String) throws(ExpressionSyntaxError) {
        guard take(symbol) else { throw ExpressionSyntaxError(column: current.column, reason: "expected '\(symbol)' but found \(describe(current))") }
    }

    func describe(_ token: Lexer.Token) -> String {
        switch token.kind {
        case .number(let value): "number \(value)"
        case .string(let value): "string \"\(value)\""
        case .identifier(let name): "'\(name)'"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "the end of the expression"
        }
    }

    mutating func nested<T>(_ parse: (inout Parser) throws(ExpressionSyntaxError) -> T) throws(ExpressionSyntaxError) -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Expression.depthMax else {
            throw ExpressionSyntaxError(column: current.column, reason: "expression nests deeper than \(Expression.depthMax) levels")
        }
        return try parse(&self)
    }

    mutating func parseOr() throws(ExpressionSyntaxError) -> Expression {
        var left = try parseAnd()
        while take("||") { left = .binary(.or, left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws(ExpressionSyntaxError) -> Expression {
        var left = try parseComparison()
        while take("&&") { left = .binary(.and, left, try parseComparison()) }
        return left
    }

    mutating func parseComparison() throws(ExpressionSyntaxError) -> Expression {
        let left = try parseCoalesce()
        for symbol in ["==", "!=", "<=", ">=", "<", ">"] where take(symbol) {
            let right = try parseCoalesce()
            if case .symbol(let next) = current.kind, ["==", "!=", "<=", ">=", "<", ">"].contains(next) {
                throw ExpressionSyntaxError(column: current.column, reason: "comparisons do not chain; use && between them")
            }
            return .binary(Expression.BinaryOperator(rawValue: symbol)!, left, right)
        }
        return left
    }

    mutating func parseCoalesce() throws(ExpressionSyntaxError) -> Expression {
        let left = try parseSum()
        guard take("??") else { return left }
        return .binary(.coalesce, left, try nested { (parser: inout Parser) throws(ExpressionSyntaxError) in try parser.parseCoalesce() })
    }

    mutating func parseSum() throws(ExpressionSyntaxError) -> Expression {
        var left = try parseProduct()
        while true {
            if take("+") { left = .binary(.add, left, try parseProduct()) }
            else if take("-") { left = .binary(.subtract, left, try parseProduct()) }
            else { return left }
        }
    }

    mutating func parseProduct() throws(ExpressionSyntaxError) -> Expression {
        var left = try parseUnary()
        while true {
            if take("*") { left = .binary(.multiply, left, try parseUnary()) }
            else if take("/") { left = .binary(.divide, left, try parseUnary()) }
            else { return left }
        }
    }

    mutating func parseUnary() throws(ExpressionSyntaxError) -> Expression {
        if take("-") { return .unary(.negate, try nested { (parser: inout Parser) throws(ExpressionSyntaxError) in try parser.parseUnary() }) }
        if take("!") { return .unary(.not, try nested { (parser: inout Parser) throws(ExpressionSyntaxError) in try parser.parseUnary() }) }
        return try parsePostfix()
    }

    mutating func parsePostfix() throws(ExpressionSyntaxError) -> Expression {
        var base = try parsePrimary()
        while take(".") {
            guard case .identifier(let field) = current.kind else {
                throw ExpressionSyntaxError(column: current.column, reason: "expected a field name after '.' but found \(describe(current))")
            }
            advance()
            base = .field(base, field)
        }
        return base
    }

    mutating func parsePrimary() throws(ExpressionSyntaxError) -> Expression {
        let token = current
        switch token.kind {
        case .number(let value):
            advance()
            return .literal(.number(value))
        case .string(let value):
            advance()
            return .literal(.string(value))
        case .identifier(let name):
            advance()
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: break
            }
            guard take("(") else { return .name(name) }
            guard let function = Expression.Function(rawValue: name) else {
                throw ExpressionSyntaxError(column: token.column, reason: "unknown function '\(name)'; known functions are \(Expression.Function.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var arguments: [Expression] = []
            if !take(")") {
                repeat {
                    arguments.append(try nested { (parser: inout Parser) throws(ExpressionSyntaxError) in try parser.parseOr() })
                } while take(",")
                try expect(")")
            }
            guard function.arity.contains(arguments.count) else {
                throw ExpressionSyntaxError(column: token.column, reason: "\(name) takes \(function.arity.lowerBound == function.arity.upperBound ? "\(function.arity.lowerBound)" : "\(function.arity.lowerBound) to \(function.arity.upperBound)") arguments, not \(arguments.count)")
            }
            return .call(function, arguments)
        case .symbol("("):
            advance()
            let inner = try nested { (parser: inout Parser) throws(ExpressionSyntaxError) in try parser.parseOr() }
            try expect(")")
            return inner
        default:
            throw ExpressionSyntaxError(column: token.column, reason: "expected a value but found \(describe(token))")
        }
    }
}
