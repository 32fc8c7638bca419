import EddyModel
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One Server-Sent Events response, read as events. Reading is paced by the consumer: the
/// socket is read only while fewer than `bufferedMax` events wait, so a slow consumer slows
/// the server's sends (which then catches it up from its change log) instead of piling up here.
final class SSEConnection: Sendable {
    /// One SSE event: its `event:` type ("message" if none), `id:` and `data:`.
    struct Event: Sendable {
        var type: String
        var id: String?
        var data: String
    }

    enum Failure: Error, CustomStringConvertible {
        /// The server answered with an error instead of a stream.
        case refused(status: Int, body: [UInt8])
        case closed
        var description: String {
            switch self {
            case .refused(let status, let body): "server answered \(status): \(String(decoding: body, as: UTF8.self))"
            case .closed: "the stream closed"
            }
        }
    }

    fileprivate struct State {
        var events: [Event] = []
        var waiting: CheckedContinuation<Event?, any Error>?
        var finished: (any Error)?? = nil  // .some(nil): ended cleanly
        var paused = false
    }

    static let bufferedMax = 256
    private let channel: any Channel
    fileprivate let state = Mutex(State())

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func open(host: String, port: Int, path: String, headers: [(String, String)]) async throws -> SSEConnection {
        let box = HandlerBox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let handler = SSEClientHandler()
                    box.handler = handler
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
            .get()
        let connection = SSEConnection(channel: channel)
        try await channel.eventLoop.submit {
            box.handler!.connection = connection
        }.get()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Accept", value: "text/event-stream")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        channel.read()
        return connection
    }

    /// The next event; nil when the stream ended cleanly. Throws `Failure` when refused.
    func next() async throws -> Event? {
        let (taken, resume): (Result<Event?, any Error>?, Bool) = state.withLock { state in
            if !state.events.isEmpty {
                let event = state.events.removeFirst()
                let resume = state.paused && state.events.count < Self.bufferedMax / 2
                if resume { state.paused = false }
                return (.success(event), resume)
            }
            if let finished = state.finished {
                return (finished.map { .failure($0) } ?? .success(nil), false)
            }
            let resume = state.paused
            state.paused = false
            return (nil, resume)
        }
        if resume { channel.eventLoop.execute { [channel] in channel.read() } }
        if let taken { return try taken.get() }
        // Cancelling the reader closes the connection, which ends the wait.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate: Result<Event?, any Error>? = state.withLock { state in
                    if !state.events.isEmpty { return .success(state.events.removeFirst()) }
                    if let finished = state.finished { return finished.map { .failure($0) } ?? .success(nil) }
                    state.waiting = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            close()
        }
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Called on the event loop with parsed events; returns whether to keep reading.
    fileprivate func deliver(_ events: [Event]) -> Bool {
        var events = events
        let (waiting, first, keepReading): (CheckedContinuation<Event?, any Error>?, Event?, Bool) = state.withLock { state in
            var handed: (CheckedContinuation<Event?, any Error>?, Event?) = (nil, nil)
            if let waiting = state.waiting, !events.isEmpty {
                state.waiting = nil
                handed = (waiting, events.removeFirst())
            }
            state.events.append(contentsOf: events)
            let keepReading = state.events.count < Self.bufferedMax
            if !keepReading { state.paused = true }
            return (handed.0, handed.1, keepReading)
        }
        if let waiting, let first { waiting.resume(returning: first) }
        return keepReading
    }

    fileprivate func finish(_ error: (any Error)?) {
        let waiting = state.withLock { state -> CheckedContinuation<Event?, any Error>? in
            if state.finished == nil { state.finished = .some(error) }
            defer { state.waiting = nil }
            return state.events.isEmpty ? state.waiting : nil
        }
        if let error { waiting?.resume(throwing: error) } else { waiting?.resume(returning: nil) }
    }
}

/// Carries the handler out of the channel initializer (set and read on the event loop).
private final class HandlerBox: @unchecked Sendable {
    var handler: SSEClientHandler?
}

/// Parses the response body as SSE (event loop only).
private final class SSEClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    var connection: SSEConnection?
    private var status = 0
    private var errorBody: [UInt8] = []
    private var line: [UInt8] = []
    private var pending = SSEConnection.Event(type: "message", id: nil, data: "")
    private var hasData = false
    private var parsed: [SSEConnection.Event] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(let buffer):
            if status != 200 {
                errorBody.append(contentsOf: buffer.readableBytesView)
                return
            }
            // Whole line pieces at a time: a change can be a megabyte on one line.
            buffer.withUnsafeReadableBytes { bytes in
                var start = bytes.startIndex
                while start < bytes.endIndex {
                    guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                        line.append(contentsOf: bytes[start...])
                        return
                    }
                    line.append(contentsOf: bytes[start..<newline])
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    field(line)
                    line.removeAll(keepingCapacity: true)
                    start = newline + 1
                }
            }
        case .end:
            connection?.finish(status == 200 ? nil : SSEConnection.Failure.refused(status: status, body: errorBody))
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let events = parsed
        parsed.removeAll()
        if connection?.deliver(events) ?? true { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.finish(status == 200 || status == 0 ? SSEConnection.Failure.closed : SSEConnection.Failure.refused(status: status, body: errorBody))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection?.finish(error)
        context.close(promise: nil)
    }

    /// One line of the stream: a field, a comment, or the blank line that ends an event.
    private func field(_ line: [UInt8]) {
        if line.isEmpty {
            if hasData { parsed.append(pending) }
            pending = SSEConnection.Event(type: "message", id: nil, data: "")
            hasData = false
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch name {
        case "data":
            pending.data = hasData ? pending.data + "\n" + value : value
            hasData = true
        case "id": pending.id = value
        case "event": pending.type = value
        default: break
        }
    }
}
