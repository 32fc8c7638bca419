import Foundation
import Synchronization

/// Latency samples in microseconds, from many threads; percentiles at the end.
public final class LatencyRecorder: Sendable {
    private let samples = Mutex<[UInt64]>([])
    private let delivered = Atomic<Int>(0)

    public init() {}

    /// Now, in microseconds on the process's monotonic clock: what senders stamp into values.
    public static var nowMicros: UInt64 { DispatchTime.now().uptimeNanoseconds / 1000 }

    func record(sentAt: UInt64, receivedAt: UInt64) {
        delivered.add(1, ordering: .relaxed)
        samples.withLock { $0.append(receivedAt >= sentAt ? receivedAt - sentAt : 0) }
    }

    public var count: Int { delivered.load(ordering: .relaxed) }

    /// The p-th percentile (0...100) in milliseconds, or nil with no samples.
    public func percentileMillis(_ p: Double) -> Double? {
        let sorted = samples.withLock { $0.sorted() }
        guard !sorted.isEmpty else { return nil }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p / 100).rounded(.up)) - 1)
        return Double(sorted[max(0, index)]) / 1000
    }
}
