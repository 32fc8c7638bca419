import EddyEngine
import EddyModel
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /v1/subscribe?table=&key=|prefix=&from=&id=&client=`: a subscription as Server-Sent
/// Events, following the EventSource conventions so a browser reconnects and resumes alone:
/// - every change is one `data:` line of JSON, with its cursor on the `id:` line;
/// - a reconnect's `Last-Event-ID` header is the cursor to resume after (it wins over `from`);
/// - `retry:` asks for a reconnect after one second; idle streams get `: heartbeat` comments;
/// - a subscription the server ends (cursor expired, partition stopped) sends one
///   `event: ended` with the error, then closes.
/// A subscribe that fails before streaming answers with the usual JSON error and status.
struct SubscriptionRoutes {
    let engine: Engine
    static let lastEventID = HTTPField.Name("Last-Event-ID")!

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/subscribe") { request, _ -> Response in
            await subscribe(request)
        }
    }

    private func subscribe(_ request: Request) async -> Response {
        var object: [String: JSON] = ["op": "subscribe"]
        for name in ["table", "key", "prefix", "from", "id", "client", "after"] {
            if let value = request.uri.queryParameters.get(name) { object[name] = .string(value) }
        }
        if let resume = request.headers[Self.lastEventID], !resume.isEmpty {
            object["from"] = .string(resume)
        }
        let event: Event
        do {
            event = try Event(json: .object(object), limits: engine.configuration.limits)
        } catch {
            return JSONResponses.error(error)
        }
        let outbox = SubscriptionOutbox(capacity: engine.configuration.subscriptions.bufferMessages)
        let subscription: Subscription
        let position: Position
        switch await engine.subscribe(event, outbox: outbox) {
        case .success(let opened): (subscription, position) = opened
        case .failure(let error):
            outbox.close()
            return JSONResponses.error(error, id: event.id)
        }
        let headers: HTTPFields = [
            .contentType: "text/event-stream",
            .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        let engine = self.engine
        let body = ResponseBody { writer in
            defer {
                engine.unsubscribe(subscription)
                outbox.close()
            }
            var opening = "retry: 1000\n: subscription \(subscription.id) at \(position.token)\n\n"
            if let from = event.from { opening += ": resuming after \(from.token)\n\n" }
            try await writer.write(ByteBuffer(string: opening))
            // A server shutting down ends its streams (clients reconnect and resume elsewhere
            // or later) instead of waiting for them.
            try await withGracefulShutdownHandler {
                while let messages = await outbox.next() {
                    var buffer = ByteBuffer()
                    var ended = false
                    for message in messages {
                        Self.write(message, into: &buffer)
                        if case .ended = message { ended = true }
                    }
                    try await writer.write(buffer)
                    if ended { break }
                }
            } onGracefulShutdown: {
                outbox.finish()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// One message in SSE framing. JSON has no raw newlines, so `data:` is one line.
    static func write(_ message: SubscriptionMessage, into buffer: inout ByteBuffer) {
        switch message {
        case .change(let change):
            buffer.writeString("id: \(change.cursor)\ndata: ")
            buffer.writeBytes(change.json)
            buffer.writeString("\n\n")  // JSON strings escape newlines, so data is one line
        case .ended:
            buffer.writeString("event: ended\ndata: ")
            buffer.writeBytes(message.json)
            buffer.writeString("\n\n")
        case .heartbeat:
            buffer.writeString(": heartbeat\n\n")
        case .reply(let body):
            buffer.writeString("event: reply\ndata: ")
            buffer.writeBytes(body)
            buffer.writeString("\n\n")
        }
    }
}
