import NIOCore
import NIOHTTPTypesHTTP1

/// Puts a connection's `ChannelRoutesHandler` in front of Hummingbird's HTTP-types codec,
/// then leaves the pipeline.
///
/// Why: Hummingbird adds extra handlers only behind that codec, where requests are HTTP
/// types. The routes handler reads and writes NIO's HTTP/1 parts instead, which saves the
/// conversion both ways and keeps the HTTP version, which the HTTP types drop.
final class ChannelRoutesInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let routes: ChannelRoutesHandler

    init(_ routes: ChannelRoutesHandler) {
        self.routes = routes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandler(routes, position: .before(pipeline.handler(type: HTTP1ToHTTPServerCodec.self)))
        } catch {
            // Only a different pipeline (a Hummingbird change) gets here, and then no event
            // could be served: stop rather than run half a server.
            preconditionFailure("Hummingbird's HTTP/1 pipeline has no HTTP-types codec to put the routes in front of: \(error)")
        }
        pipeline.removeHandler(context: context, promise: nil)
    }
}
