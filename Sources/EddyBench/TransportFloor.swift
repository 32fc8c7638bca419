import NIOCore
import NIOHTTP1
import NIOPosix

/// The transport floor: an HTTP/1.1 keep-alive server with the same SwiftNIO codec and (unless
/// told how many) event loops as `eddy serve` (but none of Hummingbird's handlers or Eddy's), which reads each
/// request in full and answers it with a fixed body the size of a `put` acknowledgement,
/// doing no other work. With `handoff`, each request is answered only after a trip to a
/// thread of its own and back (`HandoffThread`), as a server must make that keeps storage
/// off its event loops.
///
/// Why it exists: on a 2-core machine the load generator, the kernel's TCP and the HTTP
/// framing take a large share of the CPU before Eddy does anything. The load tool measures
/// this server in the same run as Eddy and Redis, so every ratio can be read against what
/// HTTP alone allows here (docs/BENCHMARKS.md).
public enum TransportFloor {
    /// The body of every response: shaped like Eddy's acknowledgement of a put.
    static let body = #"{"id":"floor-000000","ok":true,"position":"0:1"}"#

    /// Serves on `host:port` until the process ends: on `eventLoops` event loops of its own,
    /// or on NIO's shared ones when nil (as `eddy serve` does). Calls `onListening` once bound.
    public static func serve(
        host: String, port: Int, eventLoops: Int?, handoff: Bool, onListening: @Sendable (String) -> Void
    ) async throws {
        let handoffThread = handoff ? HandoffThread() : nil
        let group = eventLoops.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? .singleton
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FixedResponse(handoff: handoffThread))
                }
            }
            .bind(host: host, port: port)
            .get()
        onListening("\(host):\(channel.localAddress?.port ?? port)")
        try await channel.closeFuture.get()
    }
}

/// Answers every complete request with `TransportFloor.body`.
private final class FixedResponse: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handoff: HandoffThread?

    init(handoff: HandoffThread?) {
        self.handoff = handoff
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        guard let handoff else { return respond(context: context) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        handoff.hand(.init(eventLoop: context.eventLoop) { bound.value.0.respond(context: bound.value.1) })
    }

    private func respond(context: ChannelHandlerContext) {
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(TransportFloor.body.utf8.count)")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: TransportFloor.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
