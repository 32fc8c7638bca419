import EddyEngine
import EddyModel
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Serves `POST /v1/events` straight from the channel pipeline and passes every other
/// request on to Hummingbird's router behind it.
///
/// Why: most of a single-event request's CPU was the async route around it (a task per
/// request, async-sequence hops in and out, a continuation resumed from the WAL-sync
/// thread). Here the body is parsed on the event loop, the events are queued to the
/// partition workers from there, and the reply comes back with one `execute` on the loop.
///
/// Requests on a connection are answered in order, one at a time, as HTTP/1.1 requires of
/// pipelined requests: parts that arrive while one is in progress wait in `queued`, and
/// reading stops until they have been handled, so `queued` holds at most one read's worth.
///
/// Because Hummingbird's connection-state handler never sees the requests served here,
/// this handler owns the connection's idle timeout and its close on graceful shutdown, for
/// every request on the connection (Hummingbird's own idle timeout is off).
final class EventsChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let path = "/v1/events"

    private enum State {
        case idle
        /// Reading an events request; `body` is nil once it is over the limit.
        case readingEvents(body: ByteBuffer?, closeAfter: Bool)
        /// The events request is with the engine.
        case awaitingEngine(closeAfter: Bool)
        /// Hummingbird has the request; done when both its request and response have ended.
        case passedOn(requestEnded: Bool, responseEnded: Bool)
    }

    private let engine: Engine
    private let idleTimeout: TimeAmount
    private var state = State.idle
    private var queued = CircularBuffer<HTTPRequestPart>()
    private var readHeld = false
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
    private func canTake(_ part: HTTPRequestPart) -> Bool {
        switch state {
        case .idle, .readingEvents: true
        case .awaitingEngine: false
        case .passedOn(let requestEnded, _): !requestEnded
        }
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            if head.method == .post && Self.isEventsPath(head.path) {
                state = .readingEvents(body: ByteBuffer(), closeAfter: head.headerFields[.connection]?.lowercased() == "close")
            } else {
                state = .passedOn(requestEnded: false, responseEnded: false)
                context.fireChannelRead(wrapInboundOut(part))
            }
        case (.readingEvents(var body, let closeAfter), .body(var chunk)):
            state = .idle  // drop the reference while appending, so `body` is not copied
            if body?.readableBytes == 0 {
                body = chunk  // the usual single-part body, without a copy
            } else if body != nil {
                if body!.readableBytes + chunk.readableBytes > engine.configuration.limits.bodyBytesMax {
                    body = nil
                } else {
                    body!.writeBuffer(&chunk)
                }
            }
            state = .readingEvents(body: body, closeAfter: closeAfter)
        case (.readingEvents(let body, let closeAfter), .end):
            state = .awaitingEngine(closeAfter: closeAfter)
            run(body, context: context)
        case (.passedOn(_, let responseEnded), .end):
            context.fireChannelRead(wrapInboundOut(part))
            requestFinished(.passedOn(requestEnded: true, responseEnded: responseEnded), context: context)
        default:
            // A passed-on request's body, or parts out of order: Hummingbird's side judges them.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private static func isEventsPath(_ path: String?) -> Bool {
        guard let path else { return false }
        return path == Self.path || path.hasPrefix(Self.path + "?")
    }

    private func run(_ body: ByteBuffer?, context: ChannelHandlerContext) {
        guard let body else {
            respond(EventsRequest.bodyTooLarge(engine.configuration.limits), context: context)
            return
        }
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
        body.withUnsafeReadableBytes { bytes in
            EventsRequest.handle(body: bytes, engine: engine) { reply in
                if eventLoop.inEventLoop {
                    bound.value.0.respond(reply, context: bound.value.1)
                } else {
                    eventLoop.execute { bound.value.0.respond(reply, context: bound.value.1) }
                }
            }
        }
    }

    private func respond(_ reply: JSONReply, context: ChannelHandlerContext) {
        guard case .awaitingEngine(let closeAfter) = state else { preconditionFailure("a reply without an events request") }
        var headers = reply.headers
        headers[.contentLength] = String(reply.body.count)
        let close = closeAfter || closeWhenIdle
        if close { headers[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: reply.status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: reply.body))), promise: nil)
        if close {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        requestFinished(.idle, context: context)
    }

    /// Moves on from a request: idle once both halves of a passed-on one have ended, and
    /// then the requests that waited behind it.
    private func requestFinished(_ next: State, context: ChannelHandlerContext) {
        if case .passedOn(true, true) = next {
            state = .idle
        } else {
            state = next
        }
        guard case .idle = state else { return }
        lastActive = .now()
        if closeWhenIdle {
            context.close(promise: nil)
            return
        }
        guard !queued.isEmpty else { return resumeReading(context: context) }
        while let part = queued.first, canTake(part) {
            queued.removeFirst()
            take(part, context: context)
        }
        // Outside a read, parts passed on wait for this: Hummingbird's handler hands what
        // it has read to its request loop at read-complete.
        context.fireChannelReadComplete()
        resumeReading(context: context)
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
        // Hummingbird's response ended. Move on after this write completes its call, so
        // queued requests do not run inside Hummingbird's write.
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        if requestEnded && queued.isEmpty && !closeWhenIdle {
            requestFinished(.passedOn(requestEnded: true, responseEnded: true), context: context)
        } else {
            state = .passedOn(requestEnded: requestEnded, responseEnded: true)
            context.eventLoop.execute {
                let (handler, context) = bound.value
                if case .passedOn(let requestEnded, true) = handler.state {
                    context.flush()
                    handler.requestFinished(.passedOn(requestEnded: requestEnded, responseEnded: true), context: context)
                }
            }
        }
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
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Graceful shutdown: finish the request in progress, then close.
        if case .idle = state, queued.isEmpty {
            context.close(promise: nil)
        } else {
            closeWhenIdle = true
        }
    }

    /// Closes the connection once nothing has happened on it for `idleTimeout` and no
    /// request is in progress (a subscription stream is a request in progress).
    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard idleCheck == nil else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: lastActive + idleTimeout) {
            let (handler, context) = bound.value
            handler.idleCheck = nil
            if case .idle = handler.state, handler.queued.isEmpty, NIODeadline.now() >= handler.lastActive + handler.idleTimeout {
                context.close(promise: nil)
            } else {
                if case .idle = handler.state {} else { handler.lastActive = .now() }
                handler.scheduleIdleCheck(context: context)
            }
        }
    }
}
