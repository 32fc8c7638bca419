import EddyModel
import Foundation
import NIOCore

/// The subscription benchmarks of `eddy bench` (docs/BENCHMARKS.md):
/// - fan-out: one key (or Redis channel) with N subscribers, written as fast as it goes;
/// - many: N subscriptions to distinct keys, written at a fixed rate to random ones.
/// Both report changes delivered per second and write-to-delivery latency.
public enum SubscriptionBenchmarks {
    public struct Report: Sendable {
        public var target: String
        public var subscribers: Int
        public var writes: Int
        public var delivered: Int
        public var seconds: Double
        public var deliveredPerSecond: Double
        public var p50Millis: Double?
        public var p99Millis: Double?
        public var subscribeSeconds: Double
        /// The server's resident memory with every subscription open, if its PID was given.
        public var serverRSSMiB: Double?

        public var json: JSON {
            [
                "target": .string(target), "subscribers": .number(Double(subscribers)), "writes": .number(Double(writes)),
                "delivered": .number(Double(delivered)), "seconds": .number(seconds), "deliveredPerSecond": .number(deliveredPerSecond.rounded()),
                "p50Millis": p50Millis.map(JSON.number) ?? .null, "p99Millis": p99Millis.map(JSON.number) ?? .null,
                "subscribeSeconds": .number(subscribeSeconds),
                "serverRSSMiB": serverRSSMiB.map(JSON.number) ?? .null,
            ]
        }
    }

    /// Opens `count` subscriptions, `parallel` at a time.
    private static func open(_ count: Int, parallel: Int = 64, _ make: @escaping @Sendable (Int) async throws -> any Channel) async throws -> [any Channel] {
        var channels: [any Channel] = []
        channels.reserveCapacity(count)
        try await withThrowingTaskGroup(of: (any Channel).self) { group in
            var next = 0
            while next < min(parallel, count) {
                let index = next
                group.addTask { try await make(index) }
                next += 1
            }
            while let channel = try await group.next() {
                channels.append(channel)
                if next < count {
                    let index = next
                    group.addTask { try await make(index) }
                    next += 1
                }
            }
        }
        return channels
    }

    /// Waits until `recorder` has `expected` deliveries or nothing arrives for `quiet`; returns when the last one came.
    private static func drain(_ recorder: LatencyRecorder, expected: Int, quiet: Duration = .seconds(2)) async throws {
        var last = recorder.count
        var lastChange = ContinuousClock.now
        while recorder.count < expected && ContinuousClock.now - lastChange < quiet {
            try await Task.sleep(for: .milliseconds(20))
            if recorder.count != last {
                last = recorder.count
                lastChange = ContinuousClock.now
            }
        }
    }

    /// The one shape of every run: open the subscriptions, write, wait for the deliveries,
    /// then report (and read the server's RSS, if asked, while everything is still open).
    private static func measure(
        target: String, subscriptions: Int, deliveriesPerWrite: Int, serverPID: Int32? = nil,
        open subscribe: @escaping @Sendable (Int, LatencyRecorder) async throws -> any Channel,
        write: () async throws -> Int
    ) async throws -> Report {
        let recorder = LatencyRecorder()
        let opening = ContinuousClock.now
        let channels = try await open(subscriptions) { index in try await subscribe(index, recorder) }
        let subscribeSeconds = (ContinuousClock.now - opening).seconds
        let start = ContinuousClock.now
        let writes = try await write()
        try await drain(recorder, expected: writes * deliveriesPerWrite)
        let elapsed = (ContinuousClock.now - start).seconds
        let rss = serverPID.flatMap(residentMiB)
        for channel in channels { channel.close(promise: nil) }
        return Report(target: target, subscribers: subscriptions, writes: writes, delivered: recorder.count, seconds: elapsed,
                      deliveredPerSecond: Double(recorder.count) / elapsed, p50Millis: recorder.percentileMillis(50),
                      p99Millis: recorder.percentileMillis(99), subscribeSeconds: subscribeSeconds, serverRSSMiB: rss)
    }

    /// One Eddy key with `subscribers` SSE subscriptions, written by `writers` concurrent puts.
    public static func eddyFanOut(url: String, table: String, subscribers: Int, writers: Int, seconds: Double) async throws -> Report {
        let (host, port) = try hostPort(url)
        let key = "fanout-\(UInt32.random(in: 0...UInt32.max))"
        return try await measure(target: "eddy", subscriptions: subscribers, deliveriesPerWrite: subscribers) { _, recorder in
            try await Subscribers.eddy(host: host, port: port, table: table, key: key, recorder: recorder)
        } write: {
            try await Publishers.eddy(url: url, table: table, keys: [key], concurrency: writers, rate: nil, duration: .seconds(seconds))
        }
    }

    /// The same with Redis pub/sub: `subscribers` connections on one channel, PUBLISH with
    /// `writers` commands in flight.
    public static func redisFanOut(host: String, port: Int, subscribers: Int, writers: Int, seconds: Double) async throws -> Report {
        let channelName = "fanout-\(UInt32.random(in: 0...UInt32.max))"
        return try await measure(target: "redis", subscriptions: subscribers, deliveriesPerWrite: subscribers) { _, recorder in
            try await Subscribers.redis(host: host, port: port, channelName: channelName, recorder: recorder)
        } write: {
            try await Publishers.redis(host: host, port: port, channelName: channelName, window: writers, duration: .seconds(seconds))
        }
    }

    /// `subscriptions` SSE subscriptions to distinct keys; `rate` puts per second to them in turn.
    public static func eddyMany(url: String, table: String, subscriptions: Int, rate: Double, seconds: Double, serverPID: Int32?) async throws -> Report {
        let (host, port) = try hostPort(url)
        let run = UInt32.random(in: 0...UInt32.max)
        let keys = (0..<subscriptions).map { "many-\(run)-\($0)" }
        return try await measure(target: "eddy", subscriptions: subscriptions, deliveriesPerWrite: 1, serverPID: serverPID) { index, recorder in
            try await Subscribers.eddy(host: host, port: port, table: table, key: keys[index], recorder: recorder)
        } write: {
            try await Publishers.eddy(url: url, table: table, keys: keys.shuffled(), concurrency: 16, rate: rate, duration: .seconds(seconds))
        }
    }

    /// VmRSS of a process, from /proc (Linux).
    static func residentMiB(_ pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return (kib / 1024).rounded()
    }

    static func hostPort(_ url: String) throws -> (String, Int) {
        guard let components = URLComponents(string: url), let host = components.host else { throw BenchError("bad server URL \(url)") }
        return (host, components.port ?? 80)
    }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
