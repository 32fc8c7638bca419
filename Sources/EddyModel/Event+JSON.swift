extension Event {
    private static let knownFields: Set<String> = [
        "id", "op", "table", "key", "value", "field", "by", "prefix", "limit", "client", "after", "causedBy", "from",
        "query", "procedure", "input", "keys", "source",
    ]

    /// Validates a client's event object. Every failure names the field and the rule.
    public init(json: JSON, limits: Limits) throws(EddyError) {
        guard case .object(let object) = json else {
            throw EddyError(.invalidEvent, "an event must be a JSON object, not \(json.typeName)")
        }
        for name in object.keys where !Self.knownFields.contains(name) {
            throw EddyError(.unknownField, "unknown field '\(name.prefix(64))'; known fields are \(Self.knownFields.sorted().joined(separator: ", "))")
        }
        guard let opName = try Self.string(object, "op", required: true) else { throw EddyError(.missingField, "field 'op' is required") }
        guard let op = Op(rawValue: opName) else {
            throw EddyError(.unknownOp, "unknown op '\(opName.prefix(64))'; known ops are \(Op.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if op.spansPartitions {
            self.init(op: op, table: "")
            try parseCommonFields(object, limits: limits)
            try parseSpanningFields(object, limits: limits)
            return
        }
        let table = try Self.string(object, "table", required: true) ?? ""
        try Self.checkTableName(table)
        self.init(op: op, table: table)

        try parseCommonFields(object, limits: limits)

        switch op {
        case .put, .insert, .patch:
            key = try Self.key(object, limits: limits)
            guard let value = object["value"] else { throw EddyError(.missingField, "op '\(op.rawValue)' needs field 'value'") }
            let size = value.serialized().count
            guard size <= limits.valueBytesMax else {
                throw EddyError(.valueTooLarge, "value is \(size) bytes; the maximum is \(limits.valueBytesMax)")
            }
            self.value = value
        case .incr:
            key = try Self.key(object, limits: limits)
            guard let field = try Self.string(object, "field", required: true), !field.isEmpty else {
                throw EddyError(.missingField, "op 'incr' needs a non-empty string field 'field'")
            }
            self.field = field
            if let by = object["by"] {
                guard case .number(let amount) = by, amount.isFinite else { throw EddyError(.wrongType, "field 'by' must be a number") }
                self.amount = amount
            } else {
                amount = 1
            }
        case .delete, .get:
            key = try Self.key(object, limits: limits)
        case .scan:
            prefix = try Self.string(object, "prefix", required: false) ?? ""
            guard (prefix ?? "").utf8.count <= limits.keyBytesMax else {
                throw EddyError(.keyTooLong, "field 'prefix' is longer than \(limits.keyBytesMax) bytes")
            }
            if let raw = object["limit"] {
                guard case .number(let n) = raw, n == n.rounded(), n >= 1, n <= Double(limits.scanLimitMax) else {
                    throw EddyError(.wrongType, "field 'limit' must be a whole number from 1 to \(limits.scanLimitMax)")
                }
                limit = Int(n)
            } else {
                limit = limits.scanLimitDefault
            }
        case .subscribe:
            // One key, a key prefix, or (neither) the whole table.
            if object["key"] != nil {
                key = try Self.key(object, limits: limits)
                guard object["prefix"] == nil else { throw EddyError(.invalidEvent, "op 'subscribe' takes 'key' or 'prefix', not both") }
            } else if let prefix = try Self.string(object, "prefix", required: false) {
                guard prefix.utf8.count <= limits.keyBytesMax else {
                    throw EddyError(.keyTooLong, "field 'prefix' is longer than \(limits.keyBytesMax) bytes")
                }
                self.prefix = prefix
            }
            if let token = try Self.string(object, "from", required: false) {
                from = try Position(token: token)
            }
        case .query, .multiget, .call, .declare:
            preconditionFailure("parsed by parseSpanningFields")
        }
        try rejectFieldsNotUsed(by: op, in: object)
    }

    /// Fields any op may carry: the request ID, client, `after` and `causedBy`.
    private mutating func parseCommonFields(_ object: [String: JSON], limits: Limits) throws(EddyError) {
            if let id = try Self.string(object, "id", required: false) {
                try Self.checkID(id, limits: limits)
                self.id = id
            }
            if let client = try Self.string(object, "client", required: false) {
                guard client.utf8.count <= limits.idBytesMax else {
                    throw EddyError(.invalidEvent, "field 'client' is longer than \(limits.idBytesMax) bytes")
                }
                self.client = client
            }
            if let token = try Self.string(object, "after", required: false) {
                after = try Position(token: token)
            }
            if let caused = object["causedBy"] {
                guard case .array(let items) = caused else { throw EddyError(.wrongType, "field 'causedBy' must be an array of strings") }
                guard items.count <= limits.causedByMax else {
                    throw EddyError(.invalidEvent, "field 'causedBy' names more than \(limits.causedByMax) events")
                }
                causedBy = try items.map { (item: JSON) throws(EddyError) -> String in
                    guard case .string(let id) = item else { throw EddyError(.wrongType, "field 'causedBy' must be an array of strings") }
                    return id
                }
            }
    }

    /// The canonical JSON form, as stored in the log. Server-assigned IDs are included.
    public var json: JSON {
        // The bytes are the one definition of the form; this parses them back for the few
        // callers that want a value (provenance). They are well-formed, and no deeper than a
        // stored event may be.
        guard let json = try? JSON(parsing: canonicalJSON(), maxDepth: Limits.storedJSONDepthMax) else {
            preconditionFailure("an event's canonical JSON does not parse")
        }
        return json
    }

    /// Which fields `canonicalJSON` writes.
    public enum CanonicalForm: Sendable {
        /// Every field: the event as the log stores it.
        case whole
        /// What makes two requests the same request, for the request fingerprint: leaves out
        /// the ID itself, the client's context (`after`, `client`, `causedBy`) and the fields
        /// the server sets (`parts`, `version`), so an honest retry always matches.
        case essence
    }

    /// The canonical JSON bytes (keys in byte order, as `JSON.serialized()` writes them),
    /// written field by field: this runs for every logged event, and building a dictionary
    /// first cost more than the rest of encoding the record.
    public func canonicalJSON(_ form: CanonicalForm = .whole) -> [UInt8] {
        let whole = form == .whole
        var writer = JSONObjectWriter(capacity: value == nil ? 96 : 160)
        // Keys in byte order: after by causedBy client field from id input key keys limit op
        // parts prefix procedure progress query source table value version.
        if whole, let after, !after.isEmpty { writer.string("after", after.token) }
        if let amount { writer.number("by", amount) }
        if whole, !causedBy.isEmpty { writer.json("causedBy", .array(causedBy.map(JSON.string))) }
        if whole, let client { writer.string("client", client) }
        if let field { writer.string("field", field) }
        if let from { writer.string("from", from.token) }
        if whole, let id { writer.string("id", id) }
        if let input { writer.json("input", input) }
        if let key { writer.string("key", key) }
        if !keys.isEmpty {
            writer.json("keys", .array(keys.map { ["table": .string($0.table), "key": .string($0.key)] }))
        }
        if let limit { writer.number("limit", Double(limit)) }
        writer.string("op", op.rawValue)
        if whole, let parts { writer.json("parts", parts) }
        if let prefix { writer.string("prefix", prefix) }
        if op == .call, let name { writer.string("procedure", name) }
        if let progress { writer.json("progress", progress) }
        if op != .call, let name { writer.string("query", name) }
        if let source { writer.string("source", source) }
        if !op.spansPartitions { writer.string("table", table) }
        if let value { writer.json("value", value) }
        if whole, let version { writer.number("version", Double(version)) }
        return writer.finish()
    }

    /// Reads back an event the server itself stored; trusts its shape but not blindly.
    public init(storedJSON json: JSON) throws(EddyError) {
        var limits = Limits()
        limits.valueBytesMax = .max
        limits.keyBytesMax = .max
        limits.scanLimitMax = .max
        limits.causedByMax = .max
        limits.idBytesMax = .max
        // Stored events may carry server-assigned IDs, which clients may not send.
        var clientShape = json
        var storedID: String? = nil
        var serverFields: [String: JSON] = [:]
        if case .object(var object) = json {
            storedID = object["id"]?.stringValue
            object["id"] = nil
            // Fields only the server sets (gathered parts, procedure progress).
            for name in Self.serverFields {
                serverFields[name] = object[name]
                object[name] = nil
            }
            clientShape = .object(object)
        }
        try self.init(json: clientShape, limits: limits)
        id = storedID
        parts = serverFields["parts"]
        progress = serverFields["progress"]
        version = serverFields["version"]?.numberValue.map { UInt64($0) }
    }

    /// Fields that only some ops take.
    private static let opSpecificFields: Set<String> = ["value", "field", "by", "prefix", "limit", "from", "query", "procedure", "input", "keys", "source"]

    /// The op-specific fields each single-table op takes. Built once: this check runs for
    /// every event, and building the sets per call was half its cost.
    private static let fieldsTaken: [Op: Set<String>] = Dictionary(uniqueKeysWithValues: Op.allCases.map { op in
        let taken: Set<String> = switch op {
        case .put, .insert, .patch: ["value"]
        case .incr: ["field", "by"]
        case .delete, .get: []
        case .scan: ["prefix", "limit"]
        case .subscribe: ["prefix", "from"]
        case .query, .multiget, .call, .declare: []
        }
        return (op, taken)
    })

    private func rejectFieldsNotUsed(by op: Op, in object: [String: JSON]) throws(EddyError) {
        let allowed = Self.fieldsTaken[op] ?? []
        for name in object.keys where Self.opSpecificFields.contains(name) && !allowed.contains(name) {
            throw EddyError(.invalidEvent, "op '\(op.rawValue)' does not take field '\(name)'")
        }
        if op == .scan, object["key"] != nil {
            throw EddyError(.invalidEvent, "op 'scan' takes 'prefix', not 'key'")
        }
    }

    private static func string(_ object: [String: JSON], _ name: String, required: Bool) throws(EddyError) -> String? {
        guard let raw = object[name] else {
            if required { throw EddyError(.missingField, "field '\(name)' is required") }
            return nil
        }
        guard case .string(let value) = raw else {
            throw EddyError(.wrongType, "field '\(name)' must be a string, not \(raw.typeName)")
        }
        return value
    }

    private static func key(_ object: [String: JSON], limits: Limits) throws(EddyError) -> String {
        guard let key = try string(object, "key", required: true) else { throw EddyError(.missingField, "field 'key' is required") }
        guard !key.isEmpty else { throw EddyError(.emptyKey, "field 'key' must not be empty") }
        guard key.utf8.count <= limits.keyBytesMax else {
            throw EddyError(.keyTooLong, "key is \(key.utf8.count) bytes; the maximum is \(limits.keyBytesMax)")
        }
        return key
    }

    /// Table names are declared in configuration; this checks only their shape, which keeps
    /// them safe inside storage keys (no NUL) and URLs.
    public static func checkTableName(_ table: String) throws(EddyError) {
        guard !table.isEmpty, table.utf8.count <= 64,
              table.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        else {
            throw EddyError(.unknownTable, "table name '\(table.prefix(64))' is not valid: use 1-64 of a-z, 0-9 and _")
        }
    }

    /// Checks the ID's bytes in one pass: this runs for every event with an ID, and
    /// `String.contains` and `Character` comparisons cost more than the rest of the check.
    private static func checkID(_ id: String, limits: Limits) throws(EddyError) {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= limits.idBytesMax else {
            throw EddyError(.invalidID, "field 'id' must be 1 to \(limits.idBytesMax) bytes")
        }
        guard bytes.first != serverIDMarkerByte else {
            throw EddyError(.invalidID, "IDs starting with '\(serverIDMarker)' are reserved for the server")
        }
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 0 { throw EddyError(.invalidID, "field 'id' must not contain NUL") }
            if previous == derivedIDSeparatorBytes.first && byte == derivedIDSeparatorBytes.second {
                throw EddyError(.invalidID, "IDs containing '\(derivedIDSeparator)' are reserved for events the server derives from a request")
            }
            previous = byte
        }
    }

    private static let serverIDMarkerByte = serverIDMarker.asciiValue!
    /// `derivedIDSeparator`, which is two ASCII bytes.
    private static let derivedIDSeparatorBytes = (first: Array(derivedIDSeparator.utf8)[0], second: Array(derivedIDSeparator.utf8)[1])
}
