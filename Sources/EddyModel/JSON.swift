/// A JSON value (RFC 8259) as Eddy stores, compares and patches it.
///
/// Numbers are `Double` because that is what every JSON peer (JavaScript in particular) can
/// represent; integers are exact up to 2^53 and are written back without a fraction.
/// Objects are unordered dictionaries: member order carries no meaning in JSON, and the
/// canonical writer sorts keys so equal values serialize to equal bytes.
///
/// Note that `String` equality is Unicode canonical equivalence, so two keys or strings that
/// differ only in normalization (precomposed "é" vs "e" + U+0301) compare equal here.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}

// MARK: - Accessors

extension JSON {
    /// The member named `key`, or nil when this is not an object or has no such member.
    /// A member that is present with value `null` returns `.null`, not nil.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    public var numberValue: Double? {
        guard case .number(let value) = self else { return nil }
        return value
    }

    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    public var objectValue: [String: JSON]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    public var arrayValue: [JSON]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type name, as used in error messages and type checks ("null", "boolean", ...).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

// MARK: - Literals

// Literal conformances keep tests and hand-built documents readable:
// `let doc: JSON = ["name": "eddy", "tags": ["a", 1, true, nil]]`.

extension JSON: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension JSON: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSON: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension JSON: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSON: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSON: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

extension JSON: ExpressibleByDictionaryLiteral {
    /// Duplicate keys in a literal keep the last value, matching the parser's rule
    /// (a plain `Dictionary(uniqueKeysWithValues:)` would trap instead).
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
