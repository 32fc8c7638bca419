import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A response as the client sees it.
public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// One keep-alive HTTP/1.1 connection. Concurrent requests are pipelined: written in call
/// order, answered in the same order, as HTTP/1.1 requires.
final class HTTPConnection: Sendable {
    private let channel: any Channel
    let host: String
    /// Set by a request's timeout before its caller hears of it, so the caller's next
    /// request never picks this connection while it is still closing.
    private let expired = Atomic<Bool>(false)

    private init(channel: any Channel, host: String) {
        self.channel = channel
        self.host = host
    }

    static func connect(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PipelinedClientHandler())
                }
            }
            .connect(host: host, port: port)
            .get()
        return HTTPConnection(channel: channel, host: "\(host):\(port)")
    }

    var isActive: Bool { channel.isActive && !expired.load(ordering: .acquiring) }

    /// Sends a request and waits for its response, for at most `timeout` (nil: no limit). A
    /// request that times out closes the connection: the responses pipelined behind it could
    /// no longer be matched to their requests, so they fail too (`ConnectionClosed`), and
    /// whether a write among them took effect is then unknown (retry it with its ID).
    func request(method: String, path: String, body: [UInt8]? = nil, headers: [(String, String)] = [], timeout: Duration?) async throws -> HTTPReply {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Length", value: "\(body?.count ?? 0)")
        if body != nil { head.headers.add(name: "Content-Type", value: "application/json") }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let promise = channel.eventLoop.makePromise(of: HTTPReply.self)
        let outgoing = PipelinedClientHandler.Outgoing(head: head, body: body.map { ByteBuffer(bytes: $0) }, reply: promise)
        // If the write fails (the connection closed before or while sending), the handler may
        // never have seen the request, so fail the reply here too; NIO ignores a second
        // completion, and without this the caller would wait forever.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { promise.fail($0) }
        if let timeout {
            let expiry = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in
                expired.store(true, ordering: .releasing)
                promise.fail(RequestTimeout(method: method, path: path, timeout: timeout))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in expiry.cancel() }
        }
        channel.writeAndFlush(outgoing, promise: written)
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// No response within the client's request timeout.
public struct RequestTimeout: Error, CustomStringConvertible {
    public var method: String
    public var path: String
    public var timeout: Duration
    public var description: String { "no response to \(method) \(path) within \(timeout); the connection was closed" }
}

/// Matches responses to requests in order. Lives on the channel's event loop only.
private final class PipelinedClientHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Outgoing
    typealias OutboundOut = HTTPClientRequestPart

    struct Outgoing {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        var reply: EventLoopPromise<HTTPReply>
    }

    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "connection closed before the response arrived" }
    }

    private var waiting = CircularBuffer<EventLoopPromise<HTTPReply>>()
    private var status = 0
    private var headers: [(name: String, value: String)] = []
    private var body: [UInt8] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outgoing = unwrapOutboundIn(data)
        waiting.append(outgoing.reply)
        context.write(wrapOutboundOut(.head(outgoing.head)), promise: nil)
        if let body = outgoing.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            headers = head.headers.map { ($0.name, $0.value) }
            body.removeAll(keepingCapacity: true)
        case .body(var buffer):
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            let reply = HTTPReply(status: status, headers: headers, body: body)
            waiting.popFirst()?.succeed(reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ConnectionClosed())
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}
