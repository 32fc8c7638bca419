import EddyEngine
import EddyModel
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Serves the two hot endpoints straight from the channel pipeline, `POST /v1/events` and
/// the SSE stream `GET /v1/subscribe`, and passes every other request on to Hummingbird's
/// router behind it.
///
/// Why: most of a single-event request's CPU was the async route around it (a task per
/// request, async-sequence hops in and out, a continuation resumed from the WAL-sync
/// thread), and a subscription woke a task per delivery. Here an events body is parsed on
/// the event loop, queued to the partition workers from there, and answered with one
/// `execute` on the loop; a subscription's outbox wakes the loop, which writes what is
/// buffered.
///
/// Requests on a connection are answered in order, one at a time, as HTTP/1.1 requires of
/// pipelined requests: parts that arrive while one is in progress wait in `queued`, and
/// reading stops until they have been handled, so `queued` holds at most one read's worth.
///
/// Because Hummingbird's connection-state handler never sees the requests served here,
/// this handler owns the connection's idle timeout and its close on graceful shutdown, for
/// every request on the connection (Hummingbird's own idle timeout is off).
///
/// It sits in front of Hummingbird's HTTP-types codec (`ChannelRoutesInstaller` puts it
/// there), so it reads and writes NIO's own HTTP/1 parts: converting every request head and
/// response head to HTTP types and back cost about a fifth of an event loop's time per
/// request. Requests passed on are converted by that codec as before.
final class ChannelRoutesHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    static let eventsPath = "/v1/events"

    private enum Route {
        case events
        case subscribe(HTTPRequestHead)
    }

    private enum State {
        case idle
        /// Reading a request served here; `body` is nil once it is over the limit.
        case reading(Route, body: ByteBuffer?, closeAfter: Bool)
        /// The request is with the engine.
        case awaitingEngine(closeAfter: Bool)
        /// A subscription stream is open.
        case streaming(SubscribeStream, closeAfter: Bool)
        /// Hummingbird has the request; done when both its request and response have ended.
        case passedOn(requestEnded: Bool, responseEnded: Bool)
    }

    private enum HeldInbound {
        case event(Any)
        case error(any Error)
    }

    /// How long a subscription stream may take to end once the server shuts down (a reader
    /// that stopped reading never takes its last bytes).
    static let streamShutdownGrace = TimeAmount.seconds(5)

    private let engine: Engine
    private let idleTimeout: TimeAmount
    private var state = State.idle
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var readHeld = false
    /// Inside the drain loop of `requestFinished`: a reply sent synchronously from it must
    /// not start another (nested, it could overflow the stack with a long pipeline).
    private var draining = false
    /// Input closed or a decoding error, held until the requests before it are answered;
    /// passed on at once, Hummingbird would end the connection under them.
    private var heldInbound: [HeldInbound] = []
    private var closeWhenIdle = false
    private var lastActive = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?

    init(engine: Engine, idleTimeout: TimeAmount) {
        self.engine = engine
        self.idleTimeout = idleTimeout
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        lastActive = .now()
        if queued.isEmpty && canTake(part) {
            take(part, context: context)
        } else {
            queued.append(part)
        }
    }

    /// Whether `part` can be handled now, or must wait for the request in progress.
    private func canTake(_ part: HTTPServerRequestPart) -> Bool {
        switch state {
        case .idle, .reading: true
        case .awaitingEngine, .streaming: false
        case .passedOn(let requestEnded, _): !requestEnded
        }
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(var head)):
            // HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`
            // (such a client may read its response until the connection closes).
            let closeAfter = !head.isKeepAlive
            if let route = Self.route(head) {
                state = .reading(route, body: ByteBuffer(), closeAfter: closeAfter)
            } else {
                // Hummingbird closes after answering such a request: take nothing after it.
                if closeAfter { closeWhenIdle = true }
                // Hummingbird's side sees no version behind the codec (an HTTP/1.0 request
                // without keep-alive), nor NIO's other reasons to close: say it in the header.
                if closeAfter { head.headers.replaceOrAdd(name: "Connection", value: "close") }
                state = .passedOn(requestEnded: false, responseEnded: false)
                context.fireChannelRead(wrapInboundOut(.head(head)))
            }
        case (.reading(let route, var body, let closeAfter), .body(let chunk)):
            state = .idle  // drop the enum's reference while appending, so `body` is not copied
            if let held = body, held.readableBytes + chunk.readableBytes > engine.configuration.limits.bodyBytesMax {
                body = nil
            } else if body?.readableBytes == 0 {
                body = chunk  // the usual single-part body, without a copy
            } else {
                body?.writeImmutableBuffer(chunk)
            }
            state = .reading(route, body: body, closeAfter: closeAfter)
        case (.reading(let route, let body, let closeAfter), .end):
            state = .awaitingEngine(closeAfter: closeAfter)
            switch route {
            case .events: runEvents(body, context: context)
            case .subscribe(let head): subscribe(head, context: context)
            }
        case (.passedOn(_, let responseEnded), .end):
            context.fireChannelRead(wrapInboundOut(part))
            requestFinished(.passedOn(requestEnded: true, responseEnded: responseEnded), context: context)
        default:
            // A passed-on request's body, or parts out of order: Hummingbird's side judges them.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private static func route(_ head: HTTPRequestHead) -> Route? {
        switch (head.method, path(of: head.uri)) {
        case (.POST, Self.eventsPath[...]): return .events
        case (.GET, SubscribeStream.path[...]): return .subscribe(head)
        default: return nil
        }
    }

    /// The path of a request target, without its query: the target itself in origin form
    /// (`/v1/events?x`), and what follows the authority in absolute form
    /// (`http://host:7420/v1/events`, which HTTP/1.1 servers must accept; a proxy sends it).
    static func path(of target: String) -> Substring {
        var path = target[...]
        if !path.hasPrefix("/"), let scheme = path.range(of: "://") {
            let authorityAndPath = path[scheme.upperBound...]
            path = authorityAndPath.firstIndex(of: "/").map { authorityAndPath[$0...] } ?? "/"
        }
        return path.firstIndex(of: "?").map { path[..<$0] } ?? path
    }

    /// A callback for other threads that runs `done` on this connection's event loop: with
    /// one `execute`, or at once if called on the loop and `inline` allows it (not where the
    /// caller may be inside this handler already).
    private func onLoop<Value: Sendable>(
        _ context: ChannelHandlerContext, inline: Bool = true,
        _ done: @escaping (ChannelRoutesHandler, ChannelHandlerContext, Value) -> Void
    ) -> @Sendable (Value) -> Void {
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context, done), eventLoop: eventLoop)
        return { value in
            if inline && eventLoop.inEventLoop {
                bound.value.2(bound.value.0, bound.value.1, value)
            } else {
                eventLoop.execute { bound.value.2(bound.value.0, bound.value.1, value) }
            }
        }
    }

    // MARK: POST /v1/events

    private func runEvents(_ body: ByteBuffer?, context: ChannelHandlerContext) {
        guard let body else {
            respond(EventsRequest.bodyTooLarge(engine.configuration.limits), context: context)
            return
        }
        let reply = onLoop(context) { handler, context, reply in handler.respond(reply, context: context) }
        body.withUnsafeReadableBytes { bytes in
            EventsRequest.handle(body: bytes, engine: engine, reply: reply)
        }
    }

    private func respond(_ reply: JSONReply, context: ChannelHandlerContext) {
        guard case .awaitingEngine(let closeAfter) = state else { preconditionFailure("a reply without a request") }
        let close = closeAfter || closeWhenIdle
        var headers = HTTPHeaders()
        reply.forEachHeader { name, value in headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(reply.body.count + 1))
        if close { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: reply.status.code, reasonPhrase: reply.status.reasonPhrase)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var body = context.channel.allocator.buffer(capacity: reply.body.count + 1)
        body.writeBytes(reply.body)
        body.writeInteger(UInt8(ascii: "\n"))
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        endResponse(close: close, context: context)
    }

    /// Ends the response in progress: then closes the connection, or moves on to the next
    /// request.
    private func endResponse(close: Bool, context: ChannelHandlerContext) {
        if close {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        requestFinished(.idle, context: context)
    }

    // MARK: GET /v1/subscribe

    private func subscribe(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let event: Event
        switch SubscribeStream.event(for: head, limits: engine.configuration.limits) {
        case .success(let parsed): event = parsed
        case .failure(let error): return respond(.error(error), context: context)
        }
        SubscribeStream.open(event, engine: engine, opened: onLoop(context) { handler, context, opened in
            switch opened {
            case .success(let stream): handler.startStreaming(stream, context: context)
            case .failure(let error): handler.respond(.error(error, id: event.id), context: context)
            }
        })
    }

    private func startStreaming(_ stream: SubscribeStream, context: ChannelHandlerContext) {
        guard case .awaitingEngine(let closeAfter) = state, context.channel.isActive else {
            stream.close()  // the connection went away while the subscription opened
            return
        }
        state = .streaming(stream, closeAfter: closeAfter)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: SubscribeStream.headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: stream.opening)))), promise: nil)
        if closeWhenIdle { stream.outbox.finish() }  // shutting down: send what is buffered, then end
        pump(context: context)
    }

    /// Writes what the outbox holds while the socket takes more, then waits to be woken:
    /// by the outbox when something arrives, or by writability when the socket drains. A
    /// slow reader leaves messages in the outbox until it fills, and the subscription then
    /// catches up from the log (SubscriptionHub).
    private func pump(context: ChannelHandlerContext) {
        guard case .streaming(let stream, let closeAfter) = state else { return }
        while context.channel.isWritable {
            guard let messages = stream.outbox.take() else { return endStream(stream, closeAfter: closeAfter, context: context) }
            if messages.isEmpty {
                // Never inline: the outbox may wake its reader from inside this handler (a
                // close), where pumping again would re-enter.
                let wake = onLoop(context, inline: false) { (handler: ChannelRoutesHandler, context: ChannelHandlerContext, _: Void) in handler.pump(context: context) }
                stream.outbox.whenReady { wake(()) }
                return
            }
            var buffer = context.channel.allocator.buffer(capacity: 256 * messages.count)
            let ended = stream.write(messages, into: &buffer)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if ended { return endStream(stream, closeAfter: closeAfter, context: context) }
        }
    }

    private func endStream(_ stream: SubscribeStream, closeAfter: Bool, context: ChannelHandlerContext) {
        state = .awaitingEngine(closeAfter: closeAfter)  // first: closing wakes no pump then
        stream.close()
        endResponse(close: closeAfter || closeWhenIdle, context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context: context) }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Moving on

    /// Moves on from a request: idle once both halves of a passed-on one have ended, and
    /// then the requests that waited behind it, and what arrived after them.
    private func requestFinished(_ next: State, context: ChannelHandlerContext) {
        if case .passedOn(true, true) = next {
            state = .idle
        } else {
            state = next
        }
        guard case .idle = state else { return }
        lastActive = .now()
        guard !draining else { return }  // the loop below, further up the stack, goes on
        draining = true
        defer { draining = false }
        var took = false
        while let part = queued.first, canTake(part) {
            if closeWhenIdle, case .idle = state { break }
            queued.removeFirst()
            take(part, context: context)
            took = true
        }
        if took {
            // Outside a read, parts passed on wait for this: Hummingbird's handler hands what
            // it has read to its request loop at read-complete.
            context.fireChannelReadComplete()
        }
        guard case .idle = state else { return resumeReading(context: context) }
        if closeWhenIdle {
            context.close(promise: nil)
            return
        }
        guard queued.isEmpty else { return }
        let held = heldInbound
        heldInbound.removeAll()
        for item in held {
            switch item {
            case .event(let event): context.fireUserInboundEventTriggered(event)
            case .error(let error): context.fireErrorCaught(error)
            }
        }
        resumeReading(context: context)
    }

    /// Whether inbound events must wait for the requests before them to be answered.
    private var mustHoldInbound: Bool {
        guard queued.isEmpty, heldInbound.isEmpty else { return true }
        switch state {
        case .idle, .passedOn: return false
        case .reading, .awaitingEngine, .streaming: return true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if mustHoldInbound {
            heldInbound.append(.error(error))
        } else {
            context.fireErrorCaught(error)
        }
    }

    private func resumeReading(context: ChannelHandlerContext) {
        if queued.isEmpty && readHeld {
            readHeld = false
            context.read()
        }
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if queued.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        guard case .end = unwrapOutboundIn(data), case .passedOn(let requestEnded, _) = state else { return }
        // Hummingbird's response ended. Requests queued behind it run after this write
        // returns, not inside Hummingbird's write.
        if requestEnded && queued.isEmpty && heldInbound.isEmpty && !closeWhenIdle {
            requestFinished(.passedOn(requestEnded: true, responseEnded: true), context: context)
            return
        }
        state = .passedOn(requestEnded: requestEnded, responseEnded: true)
        let moveOn = onLoop(context, inline: false) { (handler: ChannelRoutesHandler, context: ChannelHandlerContext, _: Void) in
            if case .passedOn(let requestEnded, true) = handler.state {
                context.flush()
                handler.requestFinished(.passedOn(requestEnded: requestEnded, responseEnded: true), context: context)
            }
        }
        moveOn(())
    }

    // MARK: Connection lifetime

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleIdleCheck(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopConnection()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopConnection()
    }

    /// The connection is gone: its timer stops, and so does its subscription, at once.
    private func stopConnection() {
        idleCheck?.cancel()
        idleCheck = nil
        if case .streaming(let stream, let closeAfter) = state {
            state = .awaitingEngine(closeAfter: closeAfter)  // first: closing wakes no pump then
            stream.close()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            if case .streaming(let stream, _) = state, case .inputClosed? = event as? ChannelEvent {
                // A subscriber that closed its end is gone: a stream has no request after it
                // to answer, and waiting for a write to fail kept the subscription (and the
                // socket, in CLOSE-WAIT) until the next heartbeat.
                return endStream(stream, closeAfter: true, context: context)
            }
            // A client that half-closes after its last request still gets its answers.
            if mustHoldInbound, case .inputClosed? = event as? ChannelEvent {
                heldInbound.append(.event(event))
            } else {
                context.fireUserInboundEventTriggered(event)
            }
            return
        }
        // Graceful shutdown: finish the request in progress, then close. A stream sends
        // what is buffered and ends (clients reconnect and resume later or elsewhere).
        switch state {
        case .idle where queued.isEmpty:
            context.close(promise: nil)
        case .streaming(let stream, _):
            closeWhenIdle = true
            stream.outbox.finish()
            context.eventLoop.scheduleTask(in: Self.streamShutdownGrace) { [bound = NIOLoopBound(context, eventLoop: context.eventLoop)] in
                bound.value.close(promise: nil)
            }
        default:
            closeWhenIdle = true
        }
    }

    /// Whether the connection waits on the server (an answer, a stream), not on the client;
    /// a client that stops sending halfway through a request is idle.
    private var waitsOnServer: Bool {
        switch state {
        case .idle, .reading, .passedOn(false, _): false
        case .awaitingEngine, .streaming, .passedOn(true, _): true
        }
    }

    /// Closes the connection once nothing has arrived on it for `idleTimeout` while it waits
    /// on the client (a subscription stream waits on the server).
    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard idleCheck == nil else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: lastActive + idleTimeout) {
            let (handler, context) = bound.value
            handler.idleCheck = nil
            if handler.waitsOnServer {
                handler.lastActive = .now()
            } else if NIODeadline.now() >= handler.lastActive + handler.idleTimeout {
                context.close(promise: nil)
                return
            }
            handler.scheduleIdleCheck(context: context)
        }
    }
}
