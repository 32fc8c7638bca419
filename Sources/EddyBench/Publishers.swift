import EddyClient
import EddyModel
import NIOCore
import NIOPosix
import Synchronization

/// Writers for the benchmarks: each write stamps `{"t": now}` into the value (Eddy) or the
/// message (Redis), which the subscribers turn into delivery latency.
enum Publishers {
    /// Puts to `keys` (chosen in turn) from `concurrency` tasks, as fast as acknowledgements
    /// come back, or at `rate` writes per second overall when given, until `duration` ends.
    /// Returns the writes acknowledged.
    static func eddy(url: String, table: String, keys: [String], concurrency: Int, rate: Double?, duration: Duration) async throws -> Int {
        let clients = try (0..<max(1, min(concurrency, 8))).map { _ in try EddyClient(url: url) }
        let acknowledged = SharedCount()
        let end = ContinuousClock.now + duration
        let interval = rate.map { Duration.nanoseconds(Int64(1e9 / $0 * Double(concurrency))) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let client = clients[worker % clients.count]
                group.addTask {
                    var n = worker
                    var next = ContinuousClock.now + (interval ?? .zero) * (Double(worker) / Double(concurrency))
                    while ContinuousClock.now < end {
                        if let interval {
                            try await Task.sleep(until: next, clock: .continuous)
                            next += interval
                        }
                        let key = keys[n % keys.count]
                        n += concurrency
                        let event: JSON = ["op": "put", "table": .string(table), "key": .string(key), "value": ["t": .number(Double(LatencyRecorder.nowMicros))]]
                        let (status, _) = try await client.send(event)
                        if status == 200 { acknowledged.add() }
                    }
                }
            }
            try await group.waitForAll()
        }
        for client in clients { await client.close() }
        return acknowledged.value
    }

    /// PUBLISHes to `channelName` with `window` commands in flight on one connection until
    /// `duration` ends. Returns the messages published.
    static func redis(host: String, port: Int, channelName: String, window: Int, duration: Duration) async throws -> Int {
        let done = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Int.self)
        let (seconds, attoseconds) = duration.components
        let nanoseconds: Int64 = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let end = NIODeadline.now() + .nanoseconds(nanoseconds)
        let handler = RedisPublisher(channelName: channelName, window: window, end: end, done: done)
        _ = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: host, port: port).get()
        return try await done.futureResult.get()
    }
}

/// Keeps `window` PUBLISH commands in flight; counts the integer replies (event loop only).
private final class RedisPublisher: ChannelInboundHandler, @unchecked Sendable {
    // Why unchecked: used only on its channel's event loop after being added there.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let channelName: String
    let window: Int
    let end: NIODeadline
    let done: EventLoopPromise<Int>
    private var sent = 0
    private var answered = 0

    init(channelName: String, window: Int, end: NIODeadline, done: EventLoopPromise<Int>) {
        self.channelName = channelName
        self.window = window
        self.end = end
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<window { publish(context) }
        context.flush()
    }

    private func publish(_ context: ChannelHandlerContext) {
        let payload = #"{"t":\#(LatencyRecorder.nowMicros)}"#
        let command = "*3\r\n$7\r\nPUBLISH\r\n$\(channelName.utf8.count)\r\n\(channelName)\r\n$\(payload.utf8.count)\r\n\(payload)\r\n"
        context.write(wrapOutboundOut(ByteBuffer(string: command)), promise: nil)
        sent += 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let replies = buffer.readableBytesView.reduce(0) { $0 + ($1 == UInt8(ascii: ":") ? 1 : 0) }
        answered += replies
        if NIODeadline.now() < end {
            for _ in 0..<replies { publish(context) }
            context.flush()
        } else if answered >= sent {
            done.succeed(answered)
            context.close(promise: nil)
        }
    }
}

/// A count shared by concurrent tasks.
final class SharedCount: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
