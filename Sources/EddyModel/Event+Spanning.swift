/// Parsing and serialising the fields of events that span partitions: `query`, `multiget`
/// and `call`.
extension Event {
    /// Fields clients may not send; they are set by the server and kept in the log.
    static let serverFields = ["parts", "progress", "version"]

    /// Most keys one multiget reads.
    public static let multigetKeysMax = 100

    mutating func parseSpanningFields(_ object: [String: JSON], limits: Limits) throws(EddyError) {
        for name in ["table", "key", "value", "field", "by", "prefix", "limit"] where object[name] != nil {
            throw EddyError(.invalidEvent, "op '\(op.rawValue)' does not take field '\(name)'")
        }
        let allowed: Set<String> = switch op {
        case .query: ["query", "input"]
        case .call: ["procedure", "input"]
        case .declare: ["source"]
        default: ["keys"]
        }
        for name in ["query", "procedure", "input", "keys", "source"] where object[name] != nil && !allowed.contains(name) {
            throw EddyError(.invalidEvent, "op '\(op.rawValue)' does not take field '\(name)'")
        }
        switch op {
        case .declare:
            guard case .string(let source)? = object["source"], !source.isEmpty else {
                throw EddyError(.missingField, "op 'declare' needs a string field 'source': declarations in the configuration file's format")
            }
            self.source = source
        case .query, .call:
            let field = op == .query ? "query" : "procedure"
            guard case .string(let name)? = object[field], !name.isEmpty else {
                throw EddyError(.missingField, "op '\(op.rawValue)' needs a string field '\(field)'")
            }
            self.name = name
            guard let input = object["input"] else { throw EddyError(.missingField, "op '\(op.rawValue)' needs field 'input', an object") }
            guard case .object = input else { throw EddyError(.wrongType, "field 'input' must be an object, not \(input.typeName)") }
            let size = input.serialized().count
            guard size <= limits.valueBytesMax else {
                throw EddyError(.valueTooLarge, "input is \(size) bytes; the maximum is \(limits.valueBytesMax)")
            }
            self.input = input
        default:
            guard case .array(let items)? = object["keys"], !items.isEmpty else {
                throw EddyError(.missingField, "op 'multiget' needs field 'keys', a non-empty array of {\"table\",\"key\"} objects")
            }
            guard items.count <= Self.multigetKeysMax else {
                throw EddyError(.invalidEvent, "a multiget reads at most \(Self.multigetKeysMax) keys; this one names \(items.count)")
            }
            keys = try items.map { (item: JSON) throws(EddyError) -> TableKey in
                guard case .string(let table)? = item["table"], case .string(let key)? = item["key"], item.objectValue?.count == 2 else {
                    throw EddyError(.wrongType, "each of 'keys' must be an object with string fields 'table' and 'key' only")
                }
                try Self.checkTableName(table)
                guard !key.isEmpty else { throw EddyError(.emptyKey, "a key in 'keys' is empty") }
                guard key.utf8.count <= limits.keyBytesMax else {
                    throw EddyError(.keyTooLong, "a key in 'keys' is \(key.utf8.count) bytes; the maximum is \(limits.keyBytesMax)")
                }
                return TableKey(table: table, key: key)
            }
        }
    }
}
