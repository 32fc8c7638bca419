#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
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
            guard let base = bytes.baseAddress else { return }
            var start = 0
            while start < bytes.count {
                // memchr, and no allocation per line: the load tool shares the cores with
                // the server it measures, so its cost per line comes out of the measured
                // rate (a Redis message is seven lines, an Eddy SSE event three).
                guard let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) else {
                    line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
                    return
                }
                let newline = UnsafeRawPointer(found) - base
                if line.isEmpty {
                    scan(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]), now: now)
                } else {
                    line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<newline]))
                    line.withUnsafeBytes { scan($0, now: now) }
                    line.removeAll(keepingCapacity: true)
                }
                start = newline + 1
            }
        }
    }

    /// `"t":` as the four bytes of one unaligned load.
    private static let marker = UInt32(littleEndian: UInt32(0x22) | UInt32(0x74) << 8 | UInt32(0x22) << 16 | UInt32(0x3A) << 24)

    /// Records the stamp on one line, if it has one.
    private func scan(_ line: UnsafeRawBufferPointer, now: UInt64) {
        guard line.count > 4 else { return }
        var index = 0
        while index + 4 <= line.count {
            if line.loadUnaligned(fromByteOffset: index, as: UInt32.self) == Self.marker {
                var digit = index + 4
                var value: UInt64 = 0
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
        try await open(host: host, port: port) { channel, opened in
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(SSEBodyHandler(counter: DeliveryCounter(recorder: recorder), opened: opened))
        } subscribe: { channel in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/subscribe?table=\(table)&key=\(key)")
            head.headers.add(name: "Host", value: "\(host):\(port)")
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        }
    }

    /// Opens a Redis connection subscribed to `channelName`.
    static func redis(host: String, port: Int, channelName: String, recorder: LatencyRecorder) async throws -> any Channel {
        try await open(host: host, port: port) { channel, opened in
            try channel.pipeline.syncOperations.addHandler(RedisSubscriberHandler(counter: DeliveryCounter(recorder: recorder), opened: opened))
        } subscribe: { channel in
            try await channel.writeAndFlush(ByteBuffer(string: "SUBSCRIBE \(channelName)\r\n"))
        }
    }

    /// Connects with the handlers `addHandlers` adds, sends the subscription, and returns once
    /// a handler fulfils `opened` (the stream has started). If connecting or subscribing
    /// fails, `opened` is failed too: a promise left pending traps in debug builds.
    private static func open(
        host: String, port: Int,
        addHandlers: @escaping @Sendable (any Channel, EventLoopPromise<Void>) throws -> Void,
        subscribe: (any Channel) async throws -> Void
    ) async throws -> any Channel {
        let opened = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(30))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try addHandlers(channel, opened) }
                }
                .connect(host: host, port: port).get()
            try await subscribe(channel)
            try await opened.futureResult.get()
            return channel
        } catch {
            opened.fail(error)
            throw error
        }
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
