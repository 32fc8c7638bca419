public import EddyModel
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// A WebSocket connection to `/v1/ws` for tests: send event objects, read the JSON messages
/// that come back, in order.
public final class WebSocketTestClient: Sendable {
    private let channel: any Channel
    private let inbox: MessageInbox

    private init(channel: any Channel, inbox: MessageInbox) {
        self.channel = channel
        self.inbox = inbox
    }

    /// Connects and upgrades; `url` is the server's, e.g. "http://127.0.0.1:7420".
    public static func connect(url: String) async throws -> WebSocketTestClient {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
            throw WebSocketTestError("bad server URL \(url)")
        }
        let inbox = MessageInbox()
        let upgraded = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 24) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(FrameHandler(inbox: inbox))
                        upgraded.succeed(())
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                }
            }
            .connect(host: host, port: port)
            .get()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/ws")
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Length", value: "0")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        channel.closeFuture.whenComplete { _ in
            upgraded.fail(WebSocketTestError("connection closed before the upgrade"))
            inbox.close()
        }
        try await upgraded.futureResult.get()
        return WebSocketTestClient(channel: channel, inbox: inbox)
    }

    /// Sends one text message.
    public func send(_ json: JSON) async throws {
        try await send(text: json.serializedString)
    }

    public func send(text: String) async throws {
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text))
        try await channel.writeAndFlush(frame)
    }

    /// The next message received, waiting up to `timeout`. Heartbeats (`{"heartbeat":true}`,
    /// which an idle connection may get at any point) are skipped unless asked for.
    public func next(timeout: Duration = .seconds(10), includingHeartbeats: Bool = false) async throws -> JSON {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = inbox.take() {
                let message = try JSON(parsing: Array(text.utf8), maxDepth: Limits.storedJSONDepthMax)
                if !includingHeartbeats && message["heartbeat"] == true { continue }
                return message
            }
            if inbox.isClosed { throw WebSocketTestError("connection closed") }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw WebSocketTestError("no message within \(timeout)")
    }

    public func close() async {
        try? await channel.close()
    }
}

public struct WebSocketTestError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Messages received and not yet taken.
private final class MessageInbox: Sendable {
    private let state = Mutex<(messages: [String], closed: Bool)>(([], false))
    func add(_ text: String) { state.withLock { $0.messages.append(text) } }
    func take() -> String? { state.withLock { $0.messages.isEmpty ? nil : $0.messages.removeFirst() } }
    func close() { state.withLock { $0.closed = true } }
    var isClosed: Bool { state.withLock { $0.closed && $0.messages.isEmpty } }
}

/// Collects text frames (event loop only); answers pings, honours close.
private final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let inbox: MessageInbox
    private var fragments = ByteBuffer()

    init(inbox: MessageInbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            var data = frame.unmaskedData
            fragments.writeBuffer(&data)
            if frame.fin {
                inbox.add(String(buffer: fragments))
                fragments.clear()
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            inbox.close()
            context.close(promise: nil)
        default:
            frame.data.clear()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.close()
        context.fireChannelInactive()
    }
}
