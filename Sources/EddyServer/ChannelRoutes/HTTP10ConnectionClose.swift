import NIOCore
import NIOHTTP1

/// An HTTP/1.0 connection is not persistent unless the client asks for it with
/// `Connection: keep-alive`; such a client may read its response until the connection
/// closes. The HTTP types that the rest of the pipeline sees carry no version, so this
/// handler, in front of their codec, marks such a request `Connection: close`, which the
/// `ChannelRoutesHandler` honours for every route, as it does for HTTP/1.1.
final class HTTP10ConnectionClose: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), head.version == .http1_0, !head.isKeepAlive else {
            return context.fireChannelRead(data)
        }
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}
