public import EddyModel
import Foundation
import Synchronization

/// The Swift client for an Eddy server: one keep-alive connection, reconnected when it drops.
///
/// Convenience methods return the result object and throw `EddyError` when the server
/// rejects the event; `send` returns every reply as it came.
public final class EddyClient: Sendable {
    public let host: String
    public let port: Int
    /// How long a request may wait for its response before it fails with `RequestTimeout`
    /// (nil: no limit). The default is longer than the server's own waits at their defaults
    /// (`after` 5 s, fan-out 5 s, procedure outcomes 10 s); a server configured with longer
    /// waits wants a client with a longer timeout. An online audit waits without a limit.
    public let requestTimeout: Duration?
    private let connection = Mutex<HTTPConnection?>(nil)

    /// - Parameter url: e.g. "http://127.0.0.1:7420".
    public init(url: String = "http://127.0.0.1:7420", requestTimeout: Duration? = .seconds(60)) throws {
        precondition(requestTimeout.map { $0 > .zero } ?? true, "a request timeout must be positive")
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host else {
            throw EddyError(.invalidEvent, "server URL '\(url)' must look like http://HOST:PORT")
        }
        self.host = host
        self.port = components.port ?? 80
        self.requestTimeout = requestTimeout
    }

    public func close() async {
        let open = connection.withLock { current -> HTTPConnection? in
            defer { current = nil }
            return current
        }
        await open?.close()
    }

    private func connected() async throws -> HTTPConnection {
        if let open = connection.withLock({ $0 }), open.isActive { return open }
        let fresh = try await HTTPConnection.connect(host: host, port: port)
        connection.withLock { $0 = fresh }
        return fresh
    }

    /// Sends a raw HTTP request and returns the reply. Used by every other call.
    public func request(method: String, path: String, body: [UInt8]? = nil) async throws -> HTTPReply {
        try await request(method: method, path: path, body: body, timeout: requestTimeout)
    }

    /// The same with its own timeout (nil: no limit), for calls that wait on purpose.
    func request(method: String, path: String, body: [UInt8]? = nil, timeout: Duration?) async throws -> HTTPReply {
        try await connected().request(method: method, path: path, body: body, timeout: timeout)
    }

    /// Sends one event object and returns the HTTP status and result object.
    public func send(_ event: JSON) async throws -> (status: Int, result: JSON) {
        let reply = try await request(method: "POST", path: "/v1/events", body: event.serialized())
        return (reply.status, try Self.decode(reply.body))
    }

    /// Sends events as one batch and returns one result per event, in order.
    public func send(batch events: [JSON]) async throws -> [JSON] {
        let reply = try await request(method: "POST", path: "/v1/events", body: JSON.array(events).serialized())
        let body = try Self.decode(reply.body)
        guard case .array(let results) = body else { throw EddyError(json: body["error"] ?? .null) ?? EddyError(.internalError, "unexpected reply") }
        return results
    }

    /// Sends an event and returns its result, or throws its error.
    @discardableResult
    public func perform(_ event: JSON) async throws -> JSON {
        let (_, result) = try await send(event)
        if result["ok"]?.boolValue == true { return result }
        throw EddyError(json: result["error"] ?? .null) ?? EddyError(.internalError, "unexpected reply: \(result.serializedString)")
    }

    @discardableResult
    public func put(_ table: String, _ key: String, _ value: JSON, id: String? = nil) async throws -> JSON {
        try await perform(Self.event("put", table, key, id: id, ["value": value]))
    }

    @discardableResult
    public func insert(_ table: String, _ key: String, _ value: JSON, id: String? = nil) async throws -> JSON {
        try await perform(Self.event("insert", table, key, id: id, ["value": value]))
    }

    @discardableResult
    public func patch(_ table: String, _ key: String, _ patch: JSON, id: String? = nil) async throws -> JSON {
        try await perform(Self.event("patch", table, key, id: id, ["value": patch]))
    }

    @discardableResult
    public func incr(_ table: String, _ key: String, field: String, by amount: Double = 1, id: String? = nil) async throws -> JSON {
        try await perform(Self.event("incr", table, key, id: id, ["field": .string(field), "by": .number(amount)]))
    }

    @discardableResult
    public func delete(_ table: String, _ key: String, id: String? = nil) async throws -> JSON {
        try await perform(Self.event("delete", table, key, id: id, [:]))
    }

    /// Reads a document. The result carries `found`, `value`, the read's `id` and `position`.
    public func get(_ table: String, _ key: String, client: String? = nil, after: String? = nil) async throws -> JSON {
        var extra: [String: JSON] = [:]
        if let client { extra["client"] = .string(client) }
        if let after { extra["after"] = .string(after) }
        return try await perform(Self.event("get", table, key, id: nil, extra))
    }

    public func scan(_ table: String, prefix: String = "", limit: Int? = nil, client: String? = nil) async throws -> JSON {
        var object: [String: JSON] = ["op": "scan", "table": .string(table), "prefix": .string(prefix)]
        if let limit { object["limit"] = .number(Double(limit)) }
        if let client { object["client"] = .string(client) }
        return try await perform(.object(object))
    }

    public func health() async throws -> (status: Int, body: JSON) {
        let reply = try await request(method: "GET", path: "/health")
        return (reply.status, try Self.decode(reply.body))
    }

    /// A single-key event object: `op`, `table`, `key`, the optional `id`, and `extra` fields.
    public static func event(_ op: String, _ table: String, _ key: String, id: String?, _ extra: [String: JSON]) -> JSON {
        var object = extra
        object["op"] = .string(op)
        object["table"] = .string(table)
        object["key"] = .string(key)
        if let id { object["id"] = .string(id) }
        return .object(object)
    }

    static func decode(_ body: [UInt8]) throws -> JSON {
        do {
            return try JSON(parsing: body, maxDepth: Limits.storedJSONDepthMax)
        } catch {
            throw EddyError(.malformedJSON, "server reply is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
    }
}
