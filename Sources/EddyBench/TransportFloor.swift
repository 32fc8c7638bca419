import NIOCore
import NIOHTTP1
import NIOPosix

/// The transport floor: an HTTP/1.1 keep-alive server with the same SwiftNIO codec and event
/// loops as `eddy serve` (but none of Hummingbird's handlers or Eddy's), which reads each
/// request in full and answers it with a fixed body the size of a `put` acknowledgement,
/// doing no other work.
///
/// Why it exists: on a 2-core machine the load generator, the kernel's TCP and the HTTP
/// framing take a large share of the CPU before Eddy does anything. The load tool measures
/// this server in the same run as Eddy and Redis, so every ratio can be read against what
/// HTTP alone allows here (docs/BENCHMARKS.md).
public enum TransportFloor {
    /// Bytes of every answer: shaped like Eddy's acknowledgement of a put.
    static let answer = #"{"id":"floor-000000","ok":true,"position":"0:1"}"#

    /// Serves on `host:port` until the process ends. Calls `onListening` once bound.
    public static func serve(host: String, port: Int, onListening: @Sendable (String) -> Void) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FixedAnswer())
                }
            }
            .bind(host: host, port: port)
            .get()
        onListening("\(host):\(channel.localAddress?.port ?? port)")
        try await channel.closeFuture.get()
    }
}

/// Answers every complete request with `TransportFloor.answer`.
private final class FixedAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(TransportFloor.answer.utf8.count)")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: TransportFloor.answer)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
