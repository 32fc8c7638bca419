import EddyEngine
import EddyModel
import Foundation
import NIOCore
import NIOHTTP1

/// `GET /v1/subscribe?table=&key=|prefix=&from=&id=&client=&after=`: a subscription as
/// Server-Sent Events, following the EventSource conventions so a browser reconnects and
/// resumes alone:
/// - every change is one `data:` line of JSON, with its cursor on the `id:` line;
/// - a reconnect's `Last-Event-ID` header is the cursor to resume after (it wins over `from`);
/// - `retry:` asks for a reconnect after one second; idle streams get `: heartbeat` comments;
/// - a subscription the server ends (cursor expired, partition stopped) sends one
///   `event: ended` with the error, then the response ends.
/// A subscribe that fails before streaming answers with the usual JSON error and status.
///
/// `ChannelRoutesHandler` runs the stream on the connection's event loop: the outbox wakes
/// it, and it writes what is buffered while the socket takes more.
final class SubscribeStream: Sendable {
    static let path = "/v1/subscribe"
    static let headers: HTTPHeaders = [
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    ]

    let subscription: Subscription
    let position: Position
    let resumedAfter: Position?
    private let engine: Engine

    var outbox: SubscriptionOutbox { subscription.outbox }

    /// The subscribe event a request asks for, from its query and `Last-Event-ID`.
    static func event(for head: HTTPRequestHead, limits: Limits) -> Result<Event, EddyError> {
        var object: [String: JSON] = ["op": "subscribe"]
        let items = URLComponents(string: head.uri)?.queryItems ?? []
        for name in ["table", "key", "prefix", "from", "id", "client", "after"] {
            if let value = items.last(where: { $0.name == name })?.value { object[name] = .string(value) }
        }
        if let resume = head.headers.first(name: "Last-Event-ID"), !resume.isEmpty {
            object["from"] = .string(resume)
        }
        return Result { () throws(EddyError) in try Event(json: .object(object), limits: limits) }
    }

    /// Registers the subscription; `opened` gets the stream, or the error to answer with.
    static func open(_ event: Event, engine: Engine, opened: @escaping @Sendable (Result<SubscribeStream, EddyError>) -> Void) {
        let outbox = SubscriptionOutbox(capacity: engine.configuration.subscriptions.bufferMessages)
        Task {
            switch await engine.subscribe(event, outbox: outbox) {
            case .success(let (subscription, position)):
                opened(.success(SubscribeStream(subscription: subscription, position: position, resumedAfter: event.from, engine: engine)))
            case .failure(let error):
                outbox.close()
                opened(.failure(error))
            }
        }
    }

    private init(subscription: Subscription, position: Position, resumedAfter: Position?, engine: Engine) {
        self.subscription = subscription
        self.position = position
        self.resumedAfter = resumedAfter
        self.engine = engine
        var prefix = Array("\ndata: ".utf8)
        SubscriptionChange.writeJSONPrefix(subscription: subscription.id, into: &prefix)
        dataPrefix = prefix
    }

    /// The first bytes of the stream.
    var opening: String {
        var text = "retry: 1000\n: subscription \(subscription.id) at \(position.token)\n\n"
        if let resumedAfter { text += ": resuming after \(resumedAfter.token)\n\n" }
        return text
    }

    /// Ends the subscription; the connection's end (or the stream's) calls it. Idempotent.
    func close() {
        engine.unsubscribe(subscription)
        outbox.close()
    }

    /// Frames `messages` into `buffer`; true if the last one ends the stream.
    func write(_ messages: [SubscriptionMessage], into buffer: inout ByteBuffer) -> Bool {
        for message in messages {
            write(message, into: &buffer)
            if case .ended = message { return true }
        }
        return false
    }

    /// `\ndata: {"subscription":"<id>","cursor":"`: what follows a change's `id:` cursor up
    /// to the cursor in its JSON, the same for every change on this stream. Rendered once,
    /// since framing runs once per subscriber per change.
    private let dataPrefix: [UInt8]
    private static let idField = Array("id: ".utf8)
    private static let closingQuote = Array("\"".utf8)
    private static let eventEnd = Array("\n\n".utf8)

    /// Copies `bytes` to `end` and moves `end` past them. A function of its own taking the
    /// position `inout`: a nested function capturing it paid a dynamic exclusivity check
    /// per copy, about 8% of the event loops' time in a fan-out.
    private static func append(_ bytes: UnsafeRawBufferPointer, at end: inout UnsafeMutableRawPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        end.copyMemory(from: source, byteCount: bytes.count)
        end += bytes.count
    }

    /// One message in SSE framing. JSON has no raw newlines, so `data:` is one line.
    private func write(_ message: SubscriptionMessage, into buffer: inout ByteBuffer) {
        switch message {
        case .change(let change):
            // `id: <cursor>\ndata: <prefix><cursor>"<tail>\n\n`, in `SubscriptionChange.write`'s
            // layout with this stream's prefix rendered once, copied in one reservation: a
            // write per piece cost a buffer access check each, most of the framing's time.
            // An SSE stream carries one subscription, so every change here is its own.
            assert(change.subscription == subscription.id, "a change of another subscription on an SSE stream")
            var cursor = change.cursor
            let tail = change.jsonTail
            cursor.withUTF8 { cursor in
                let cursor = UnsafeRawBufferPointer(cursor)
                let length = Self.idField.count + 2 * cursor.count + dataPrefix.count + Self.closingQuote.count + tail.count + Self.eventEnd.count
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
                    var end = out.baseAddress!
                    Self.idField.withUnsafeBytes { Self.append($0, at: &end) }
                    Self.append(cursor, at: &end)
                    dataPrefix.withUnsafeBytes { Self.append($0, at: &end) }
                    Self.append(cursor, at: &end)
                    Self.closingQuote.withUnsafeBytes { Self.append($0, at: &end) }
                    tail.withUnsafeBytes { Self.append($0, at: &end) }
                    Self.eventEnd.withUnsafeBytes { Self.append($0, at: &end) }
                    return end - out.baseAddress!
                }
            }
        case .ended:
            buffer.writeStaticString("event: ended\ndata: ")
            buffer.writeBytes(message.json)
            buffer.writeStaticString("\n\n")
        case .heartbeat:
            buffer.writeStaticString(": heartbeat\n\n")
        case .reply(let body):
            buffer.writeStaticString("event: reply\ndata: ")
            buffer.writeBytes(body)
            buffer.writeStaticString("\n\n")
        }
    }
}
