public import EddyModel

/// A parsed expression of the declaration language: a tree with no loops and no side
/// effects, so evaluating it is bounded by its size and gives the same value on every replay.
public indirect enum Expression: Sendable, Equatable {
    case literal(JSON)
    /// A name bound in the scope: `input`, a looked-up document, or an earlier result field.
    case name(String)
    /// `base.field`; a field of null, or a missing field, is null.
    case field(Expression, String)
    case unary(UnaryOperator, Expression)
    case binary(BinaryOperator, Expression, Expression)
    case call(Function, [Expression])

    public enum UnaryOperator: String, Sendable {
        case negate = "-"
        case not = "!"
    }

    public enum BinaryOperator: String, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/"
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case and = "&&", or = "||"
        case coalesce = "??"
    }

    /// The built-in functions. `if` evaluates only the branch it picks.
    public enum Function: String, Sendable, CaseIterable {
        case min, max, abs, concat
        /// The names of an object's fields, sorted by their UTF-8 bytes; `keys(null)` is `[]`.
        case keys
        case `if`

        var arity: ClosedRange<Int> {
            switch self {
            case .min, .max: 1...16
            case .abs, .keys: 1...1
            case .concat: 1...16
            case .if: 3...3
            }
        }
    }

    /// Every name the expression reads, so a declaration can be checked at start-up for
    /// names it does not bind.
    public var names: Set<String> {
        switch self {
        case .literal: []
        case .name(let name): [name]
        case .field(let base, _): base.names
        case .unary(_, let operand): operand.names
        case .binary(_, let left, let right): left.names.union(right.names)
        case .call(_, let arguments): arguments.reduce(into: Set<String>()) { $0.formUnion($1.names) }
        }
    }
}
