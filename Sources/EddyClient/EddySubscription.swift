public import EddyModel
import Foundation

/// A document change (or snapshot entry) received from a subscription.
public struct EddyChange: Sendable, Equatable {
    public var subscription: String
    /// Resume after this change by subscribing `from` it.
    public var cursor: String
    /// "snapshot", or the op that made the change: put, patch, incr, insert, delete.
    public var kind: String
    public var table: String
    public var key: String
    /// The document after the change; nil when deleted.
    public var value: JSON?
    /// The ID of the write that made the change.
    public var event: String?

    init?(json: JSON) {
        guard let subscription = json["subscription"]?.stringValue, let cursor = json["cursor"]?.stringValue,
              let kind = json["kind"]?.stringValue, let table = json["table"]?.stringValue, let key = json["key"]?.stringValue
        else { return nil }
        self.subscription = subscription
        self.cursor = cursor
        self.kind = kind
        self.table = table
        self.key = key
        self.value = json["value"].flatMap { $0.isNull ? nil : $0 }
        self.event = json["event"]?.stringValue
    }

    /// The change as the server sent it (one JSON object).
    public var json: JSON {
        var object: [String: JSON] = [
            "subscription": .string(subscription), "cursor": .string(cursor), "kind": .string(kind),
            "table": .string(table), "key": .string(key), "value": value ?? .null,
        ]
        if let event { object["event"] = .string(event) }
        return .object(object)
    }
}

/// A subscription as an `AsyncSequence` of changes, over SSE. When the connection drops it
/// reconnects and resumes after the last cursor it returned, so iteration sees every change
/// once, in order, across reconnects and server restarts. It ends (throws) only when the
/// server ends the subscription (`cursor_expired`, say), refuses it, or cannot be reached
/// for `reconnectAttemptsMax` attempts in a row.
public struct EddySubscription: AsyncSequence, Sendable {
    public typealias Element = EddyChange
    let host: String
    let port: Int
    let query: [(String, String)]
    /// Where to resume after; nil starts with a snapshot.
    public var from: String?
    public var reconnectAttemptsMax = 50

    public func makeAsyncIterator() -> Iterator {
        Iterator(subscription: self, cursor: from)
    }

    public final class Iterator: AsyncIteratorProtocol {
        let subscription: EddySubscription
        /// The cursor of the last change returned.
        public private(set) var cursor: String?
        private var connection: SSEConnection?
        private var failedAttempts = 0

        init(subscription: EddySubscription, cursor: String?) {
            self.subscription = subscription
            self.cursor = cursor
        }

        deinit { connection?.close() }

        public func next() async throws -> EddyChange? {
            while true {
                try Task.checkCancellation()
                if connection == nil {
                    do {
                        connection = try await connect()
                    } catch let refused as SSEConnection.Failure {
                        throw Self.error(refused)
                    } catch {
                        try await backOff(error)
                        continue
                    }
                }
                let event: SSEConnection.Event?
                do {
                    event = try await connection!.next()
                } catch let refused as SSEConnection.Failure {
                    if case .refused = refused { throw Self.error(refused) }
                    event = nil
                } catch {
                    event = nil
                }
                guard let event else {
                    // Dropped (server restart, network): reconnect from the last cursor.
                    connection?.close()
                    connection = nil
                    try await backOff(SSEConnection.Failure.closed)
                    continue
                }
                failedAttempts = 0
                let json = try JSON(parsing: Array(event.data.utf8), maxDepth: Limits.storedJSONDepthMax)
                if event.type == "ended" {
                    throw EddyError(json: json["error"] ?? .null) ?? EddyError(.internalError, "subscription ended: \(event.data)")
                }
                guard event.type == "message", let change = EddyChange(json: json) else { continue }
                cursor = change.cursor
                return change
            }
        }

        /// Closes the connection; a later `next()` reconnects from the last cursor.
        public func disconnect() {
            connection?.close()
            connection = nil
        }

        /// The first connection resumes `from` the given cursor (a query parameter); later
        /// ones send the last cursor as `Last-Event-ID`, as a browser's EventSource does.
        private func connect() async throws -> SSEConnection {
            var items = subscription.query.map { URLQueryItem(name: $0.0, value: $0.1) }
            if let from = subscription.from { items.append(URLQueryItem(name: "from", value: from)) }
            var components = URLComponents()
            components.path = "/v1/subscribe"
            components.queryItems = items
            let path = components.percentEncodedPath + "?" + (components.percentEncodedQuery ?? "")
            let headers = cursor.map { [("Last-Event-ID", $0)] } ?? []
            return try await SSEConnection.open(host: subscription.host, port: subscription.port, path: path, headers: headers)
        }

        private func backOff(_ error: any Error) async throws {
            failedAttempts += 1
            guard failedAttempts <= subscription.reconnectAttemptsMax else { throw error }
            try await Task.sleep(for: .milliseconds(Swift.min(1000, 50 << Swift.min(failedAttempts, 5))))
        }

        private static func error(_ failure: SSEConnection.Failure) -> any Error {
            if case .refused(_, let body) = failure, let json = try? JSON(parsing: body), let error = EddyError(json: json["error"] ?? .null) {
                return error
            }
            return failure
        }
    }
}

extension EddyClient {
    /// Subscribes to one key, a key prefix, or (neither) a whole table. Iterating the result
    /// connects; see `EddySubscription`.
    public func subscribe(_ table: String, key: String? = nil, prefix: String? = nil, from: String? = nil, id: String? = nil, client: String? = nil) -> EddySubscription {
        var query: [(String, String)] = [("table", table)]
        if let key { query.append(("key", key)) }
        if let prefix { query.append(("prefix", prefix)) }
        if let id { query.append(("id", id)) }
        if let client { query.append(("client", client)) }
        return EddySubscription(host: host, port: port, query: query, from: from)
    }
}
