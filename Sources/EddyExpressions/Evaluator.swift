public import EddyModel

extension Expression {
    /// Evaluates against `scope` (name → value). Pure and bounded: one visit per node.
    public func evaluate(in scope: [String: JSON]) throws(EvaluationError) -> JSON {
        switch self {
        case .literal(let value):
            return value
        case .name(let name):
            guard let value = scope[name] else { throw EvaluationError("'\(name)' is not defined") }
            return value
        case .field(let base, let field):
            switch try base.evaluate(in: scope) {
            case .null: return .null
            case .object(let object): return object[field] ?? .null
            case let other: throw EvaluationError("cannot read field '\(field)' of \(other.typeName)")
            }
        case .unary(.negate, let operand):
            return .number(-(try Self.number(operand.evaluate(in: scope), "-")))
        case .unary(.not, let operand):
            return .bool(!(try Self.bool(operand.evaluate(in: scope), "!")))
        case .binary(let op, let left, let right):
            return try Self.binary(op, left, right, scope)
        case .call(let function, let arguments):
            return try Self.call(function, arguments, scope)
        }
    }

    private static func binary(_ op: BinaryOperator, _ left: Expression, _ right: Expression, _ scope: [String: JSON]) throws(EvaluationError) -> JSON {
        // The lazy ones first: the right side is evaluated only when needed.
        switch op {
        case .and:
            guard try bool(left.evaluate(in: scope), "&&") else { return .bool(false) }
            return .bool(try bool(right.evaluate(in: scope), "&&"))
        case .or:
            if try bool(left.evaluate(in: scope), "||") { return .bool(true) }
            return .bool(try bool(right.evaluate(in: scope), "||"))
        case .coalesce:
            let value = try left.evaluate(in: scope)
            return value.isNull ? try right.evaluate(in: scope) : value
        default:
            break
        }
        let a = try left.evaluate(in: scope)
        let b = try right.evaluate(in: scope)
        switch op {
        case .add:
            if case .string(let x) = a, case .string(let y) = b { return .string(x + y) }
            return try finite(number(a, "+") + number(b, "+"), "+")
        case .subtract: return try finite(number(a, "-") - number(b, "-"), "-")
        case .multiply: return try finite(number(a, "*") * number(b, "*"), "*")
        case .divide:
            let divisor = try number(b, "/")
            guard divisor != 0 else { throw EvaluationError("division by zero") }
            return try finite(number(a, "/") / divisor, "/")
        case .equal: return .bool(a == b)
        case .notEqual: return .bool(a != b)
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let order: Int
            switch (a, b) {
            case (.number(let x), .number(let y)): order = x < y ? -1 : (x == y ? 0 : 1)
            case (.string(let x), .string(let y)): order = x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x == y ? 0 : 1)
            default: throw EvaluationError("cannot compare \(a.typeName) with \(b.typeName) using \(op.rawValue)")
            }
            switch op {
            case .less: return .bool(order < 0)
            case .lessOrEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case .and, .or, .coalesce:
            preconditionFailure("handled above")
        }
    }

    private static func call(_ function: Function, _ arguments: [Expression], _ scope: [String: JSON]) throws(EvaluationError) -> JSON {
        switch function {
        case .if:
            let condition = try bool(arguments[0].evaluate(in: scope), "if")
            return try arguments[condition ? 1 : 2].evaluate(in: scope)
        case .abs:
            return .number(Swift.abs(try number(arguments[0].evaluate(in: scope), "abs")))
        case .min, .max:
            var best: Double? = nil
            for argument in arguments {
                let value = try number(argument.evaluate(in: scope), function.rawValue)
                best = best.map { function == .min ? Swift.min($0, value) : Swift.max($0, value) } ?? value
            }
            return .number(best!)
        case .concat:
            var text = ""
            for argument in arguments {
                switch try argument.evaluate(in: scope) {
                case .string(let value): text += value
                case .number(let value): text += JSON.number(value).serializedString
                case .bool(let value): text += value ? "true" : "false"
                case .null: text += "null"
                case let other: throw EvaluationError("concat cannot join \(other.typeName)")
                }
            }
            return .string(text)
        case .keys:
            switch try arguments[0].evaluate(in: scope) {
            case .null: return .array([])
            case .object(let object):
                // Sorted, so the same document gives the same list on every run and replay.
                return .array(object.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map(JSON.string))
            case let other: throw EvaluationError("keys needs an object, not \(other.typeName)")
            }
        }
    }

    private static func number(_ value: JSON, _ op: String) throws(EvaluationError) -> Double {
        guard case .number(let number) = value else { throw EvaluationError("\(op) needs a number, not \(value.typeName)") }
        return number
    }

    private static func bool(_ value: JSON, _ op: String) throws(EvaluationError) -> Bool {
        guard case .bool(let flag) = value else { throw EvaluationError("\(op) needs true or false, not \(value.typeName)") }
        return flag
    }

    private static func finite(_ value: Double, _ op: String) throws(EvaluationError) -> JSON {
        guard value.isFinite else { throw EvaluationError("\(op) overflows") }
        return .number(value)
    }
}
