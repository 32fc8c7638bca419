import NIOCore
import NIOHTTP1
import NIOPosix

/// Receives a stream of messages that each carry `"t":MICROS` (the send time stamped into
/// the written value) and records the delivery latency of each. Works on SSE bodies and
/// on Redis pub/sub replies alike, since both arrive as lines and the stamp is on one line.
final class DeliveryCounter {
    private let recorder: LatencyRecorder
    private var line: [UInt8] = []

    init(recorder: LatencyRecorder) {
        self.recorder = recorder
    }

    func consume(_ buffer: ByteBuffer) {
        let now = LatencyRecorder.nowMicros
        buffer.withUnsafeReadableBytes { bytes in
            var start = bytes.startIndex
            while start < bytes.endIndex {
                guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    line.append(contentsOf: bytes[start...])
                    return
                }
                if line.isEmpty {
                    scan(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]), now: now)
                } else {
                    line.append(contentsOf: bytes[start..<newline])
                    line.withUnsafeBytes { scan($0, now: now) }
                    line.removeAll(keepingCapacity: true)
                }
                start = newline + 1
            }
        }
    }

    /// Records the stamp on one line, if it has one.
    private func scan(_ line: UnsafeRawBufferPointer, now: UInt64) {
        let marker: [UInt8] = Array(#""t":"#.utf8)
        guard line.count > marker.count else { return }
        var index = 0
        while index + marker.count <= line.count {
            if line[index] == marker[0] && line[index + 1] == marker[1] && line[index + 2] == marker[2] && line[index + 3] == marker[3] {
                var value: UInt64 = 0
                var digit = index + marker.count
                while digit < line.count, line[digit] >= 48, line[digit] <= 57 {
                    value = value * 10 + UInt64(line[digit] - 48)
                    digit += 1
                }
                recorder.record(sentAt: value, receivedAt: now)
                return
            }
            index += 1
        }
    }
}

/// An SSE subscription whose changes are only counted and timed.
private final class SSEBodyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let counter: DeliveryCounter
    let opened: EventLoopPromise<Void>
    init(counter: DeliveryCounter, opened: EventLoopPromise<Void>) {
        self.counter = counter
        self.opened = opened
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status == .ok { opened.succeed(()) } else { opened.fail(BenchError("subscribe answered \(head.status.code)")) }
        case .body(let buffer): counter.consume(buffer)
        case .end: break
        }
    }
    func channelInactive(context: ChannelHandlerContext) {
        opened.fail(BenchError("subscription connection closed"))
    }
}

/// Redis pub/sub replies, counted and timed; the first reply confirms the subscription.
private final class RedisSubscriberHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let counter: DeliveryCounter
    let opened: EventLoopPromise<Void>
    init(counter: DeliveryCounter, opened: EventLoopPromise<Void>) {
        self.counter = counter
        self.opened = opened
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        opened.succeed(())  // the subscribe confirmation comes first; later calls do nothing
        counter.consume(unwrapInboundIn(data))
    }
}

enum Subscribers {
    /// Opens an SSE subscription to `table`/`key` and returns once the stream has started.
    static func eddy(host: String, port: Int, table: String, key: String, recorder: LatencyRecorder) async throws -> any Channel {
        let group = MultiThreadedEventLoopGroup.singleton
        let opened = group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(30))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(SSEBodyHandler(counter: DeliveryCounter(recorder: recorder), opened: opened))
                }
            }
            .connect(host: host, port: port).get()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/subscribe?table=\(table)&key=\(key)")
        head.headers.add(name: "Host", value: "\(host):\(port)")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        try await opened.futureResult.get()
        return channel
    }

    /// Opens a Redis connection subscribed to `channelName`.
    static func redis(host: String, port: Int, channelName: String, recorder: LatencyRecorder) async throws -> any Channel {
        let group = MultiThreadedEventLoopGroup.singleton
        let opened = group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(30))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisSubscriberHandler(counter: DeliveryCounter(recorder: recorder), opened: opened))
                }
            }
            .connect(host: host, port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: "SUBSCRIBE \(channelName)\r\n"))
        try await opened.futureResult.get()
        return channel
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
