public import EddyExpressions
public import EddyModel

/// The queries and procedures a server runs, declared in Config/ next to its tables
/// (docs/DECLARATIONS.md). Plain values: the loader builds them, the engine only reads them.
public struct Declarations: Sendable {
    public var queries: [String: QueryDeclaration] = [:]
    public var procedures: [String: ProcedureDeclaration] = [:]

    public init() {}
}

/// An input field a query or procedure requires, and the JSON type it must have.
public struct InputField: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case string, number, boolean, object, any
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// One document to look up: its table, and its key as an expression over the input.
public struct Lookup: Sendable {
    /// The name the looked-up document is bound to in later expressions (null when absent).
    public var name: String
    public var table: String
    public var key: Expression

    public init(name: String, table: String, key: Expression) {
        self.name = name
        self.table = table
        self.key = key
    }
}

/// A name bound to an expression; result fields are evaluated in order, each seeing the
/// ones before it.
public struct NamedExpression: Sendable {
    public var name: String
    public var expression: Expression

    public init(name: String, expression: Expression) {
        self.name = name
        self.expression = expression
    }
}

/// A fan-out query: look up each document in the partition that owns it, then combine.
public struct QueryDeclaration: Sendable {
    public var name: String
    public var input: [InputField]
    public var lookups: [Lookup]
    /// The answer's fields, in order; the answer is the object of all of them.
    public var result: [NamedExpression]

    public init(name: String, input: [InputField], lookups: [Lookup], result: [NamedExpression]) {
        self.name = name
        self.input = input
        self.lookups = lookups
        self.result = result
    }
}

/// A document built from expressions: one expression, or an object of templates.
public indirect enum ValueTemplate: Sendable {
    case expression(Expression)
    case object([(name: String, value: ValueTemplate)])

    public var names: Set<String> {
        switch self {
        case .expression(let expression): expression.names
        case .object(let fields): fields.reduce(into: Set<String>()) { $0.formUnion($1.value.names) }
        }
    }

    public func evaluate(in scope: [String: JSON]) throws(EvaluationError) -> JSON {
        switch self {
        case .expression(let expression):
            return try expression.evaluate(in: scope)
        case .object(let fields):
            var object: [String: JSON] = [:]
            for field in fields { object[field.name] = try field.value.evaluate(in: scope) }
            return .object(object)
        }
    }
}

/// A multi-stage procedure: each stage runs in one partition, in order; a later stage is
/// an event the earlier one emits. A rejected stage undoes the stages before it, newest first.
public struct ProcedureDeclaration: Sendable {
    public var name: String
    public var input: [InputField]
    /// The table each call's outcome is recorded in, keyed by the call's request ID.
    public var outcomes: String
    public var stages: [Stage]

    public init(name: String, input: [InputField], outcomes: String, stages: [Stage]) {
        self.name = name
        self.input = input
        self.outcomes = outcomes
        self.stages = stages
    }

    public struct Stage: Sendable {
        public var name: String
        /// The document whose partition runs this stage; every read and write of the stage
        /// must live in that partition.
        public var at: Lookup
        public var reads: [Lookup]
        public var checks: [Check]
        public var writes: [Write]
        /// Writes that undo `writes`, run if a later stage is rejected.
        public var undo: [Write]
        /// Puts sent to other partitions once the call is applied (only the last stage has them).
        public var deliver: Delivery?

        public init(name: String, at: Lookup, reads: [Lookup], checks: [Check], writes: [Write], undo: [Write], deliver: Delivery? = nil) {
            self.name = name
            self.at = at
            self.reads = reads
            self.checks = checks
            self.writes = writes
            self.undo = undo
            self.deliver = deliver
        }
    }

    /// A fan-out of puts from the last stage: one per element of a list computed from what the
    /// stage read (a user's friends, say), each to whichever partition owns its key. They
    /// leave through the outbox in the stage's own batch, so each lands exactly once, and
    /// they are decided from the stage's partition as it stood at that point of its log.
    public struct Delivery: Sendable {
        /// The list, evaluated in the stage's scope (input and reads).
        public var each: Expression
        /// The name each element is bound to in `key` and `value`.
        public var element: String
        public var table: String
        public var key: Expression
        public var value: ValueTemplate

        public init(each: Expression, element: String, table: String, key: Expression, value: ValueTemplate) {
            self.each = each
            self.element = element
            self.table = table
            self.key = key
            self.value = value
        }
    }

    /// A condition the stage needs; when it is false the call is rejected with `code`.
    public struct Check: Sendable {
        public var condition: Expression
        public var code: String
        public var reason: String

        public init(condition: Expression, code: String, reason: String) {
            self.condition = condition
            self.code = code
            self.reason = reason
        }
    }

    /// One single-key write, run through the same operation as a client's event of that op.
    public struct Write: Sendable {
        public var op: Op
        public var table: String
        public var key: Expression
        /// The document (put, insert) or merge patch (patch).
        public var value: ValueTemplate?
        /// incr's field and amount.
        public var field: String?
        public var by: Expression?

        public init(op: Op, table: String, key: Expression, value: ValueTemplate?, field: String?, by: Expression?) {
            self.op = op
            self.table = table
            self.key = key
            self.value = value
            self.field = field
            self.by = by
        }
    }
}

extension [InputField] {
    /// Checks a call's or query's input against the declared fields: an object holding
    /// each one with its type. Other fields are allowed and kept.
    public func validate(_ input: JSON?, for what: String) throws(EddyError) {
        guard case .object(let object)? = input else {
            throw EddyError(.invalidInput, "\(what) needs field 'input', an object")
        }
        for field in self {
            guard let value = object[field.name], !value.isNull else {
                throw EddyError(.invalidInput, "\(what) needs input field '\(field.name)'")
            }
            let matches: Bool = switch (field.kind, value) {
            case (.any, _), (.string, .string), (.number, .number), (.boolean, .bool), (.object, .object): true
            default: false
            }
            guard matches else {
                throw EddyError(.invalidInput, "input field '\(field.name)' of \(what) must be \(field.kind == .boolean ? "true or false" : "a \(field.kind.rawValue)"), not \(value.typeName)")
            }
        }
    }
}
