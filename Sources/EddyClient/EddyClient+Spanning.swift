public import EddyModel

/// Queries, multi-gets and procedure calls: events that span partitions.
extension EddyClient {
    /// Runs a declared query; the result's `value` is its answer.
    public func query(_ name: String, input: JSON, id: String? = nil) async throws -> JSON {
        try await perform(Self.queryEvent(name, input: input, id: id))
    }

    /// Reads several documents, from any tables and partitions, in one request.
    public func multiget(_ keys: [(table: String, key: String)], id: String? = nil) async throws -> JSON {
        var object: [String: JSON] = ["op": "multiget", "keys": .array(keys.map { ["table": .string($0.table), "key": .string($0.key)] })]
        if let id { object["id"] = .string(id) }
        return try await perform(.object(object))
    }

    /// Calls a declared procedure and returns the HTTP status and result, whose `outcome`
    /// is the recorded outcome (`status` applied or rejected, `stages`, `error`).
    /// - Parameter after: a position token (from an earlier result) the call must run after,
    ///   in every partition it reads: this is how causal order crosses partitions.
    public func call(_ procedure: String, input: JSON, id: String? = nil, after: String? = nil) async throws -> (status: Int, result: JSON) {
        try await send(Self.callEvent(procedure, input: input, id: id, after: after))
    }

    public static func queryEvent(_ name: String, input: JSON, id: String?, after: String? = nil) -> JSON {
        var object: [String: JSON] = ["op": "query", "query": .string(name), "input": input]
        if let id { object["id"] = .string(id) }
        if let after { object["after"] = .string(after) }
        return .object(object)
    }

    public static func callEvent(_ procedure: String, input: JSON, id: String?, after: String? = nil) -> JSON {
        var object: [String: JSON] = ["op": "call", "procedure": .string(procedure), "input": input]
        if let id { object["id"] = .string(id) }
        if let after { object["after"] = .string(after) }
        return .object(object)
    }
}
