/// A syntax error in an expression, with the 1-based column it was found at, so a
/// declaration error can name file, line and column.
public struct ExpressionSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var column: Int
    public var reason: String

    public init(column: Int, reason: String) {
        self.column = column
        self.reason = reason
    }

    public var description: String { "column \(column): \(reason)" }
}

/// An expression that parsed but cannot be evaluated on these values (a string multiplied,
/// a division by zero). Deterministic: the same values fail the same way on replay.
public struct EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
