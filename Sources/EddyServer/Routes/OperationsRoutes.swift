import EddyEngine
import EddyModel
import Hummingbird
import Prometheus

/// `GET /health` and `GET /metrics`: for operators and load balancers.
struct OperationsRoutes {
    let engine: Engine
    let registry: PrometheusCollectorRegistry

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ -> Response in
            health()
        }
        router.get("/metrics") { _, _ -> Response in
            _ = engine.queueDepths()  // refreshes the queue-depth gauges
            var text = registry.emitToBuffer()
            text.append(contentsOf: subscriptionMetrics().utf8)
            text.append(contentsOf: AuditStatus.metrics(engine).utf8)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: text))
            )
        }
    }

    /// Subscription gauges, one series per open subscription. Rendered here rather than
    /// registered as metrics because subscriptions come and go by the thousand.
    private func subscriptionMetrics() -> String {
        let totals = engine.subscriptionTotals
        var lines = [
            "# TYPE eddy_subscriptions gauge", "eddy_subscriptions \(totals.open)",
            "# TYPE eddy_subscription_changes_delivered_total counter", "eddy_subscription_changes_delivered_total \(totals.delivered)",
            "# TYPE eddy_subscription_stalls_total counter", "eddy_subscription_stalls_total \(totals.stalls)",
        ]
        let lags = engine.subscriptionLags()
        // Each ID escaped once for its three series, and only if it needs it: at 12,000
        // subscriptions, Foundation's `replacingOccurrences` three times per series made a
        // scrape take about 350 ms of an event loop; it now takes about 60 ms.
        let labels = lags.map { "{subscription=\"\(Self.labelValue($0.subscription))\"} " }
        lines.append("# TYPE eddy_subscription_lag_records gauge")
        lines += zip(lags, labels).map { "eddy_subscription_lag_records\($1)\($0.records)" }
        lines.append("# TYPE eddy_subscription_buffered_messages gauge")
        lines += zip(lags, labels).map { "eddy_subscription_buffered_messages\($1)\($0.buffered)" }
        lines.append("# TYPE eddy_subscription_catching_up gauge")
        lines += zip(lags, labels).map { "eddy_subscription_catching_up\($1)\($0.catchingUp ? 1 : 0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Prometheus label value: backslash, quote and newline escaped. Most IDs have none of
    /// them and are returned as they are.
    static func labelValue(_ value: String) -> String {
        let special: (UInt8) -> Bool = { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }
        guard value.utf8.contains(where: special) else { return value }
        var escaped: [UInt8] = []
        escaped.reserveCapacity(value.utf8.count + 8)
        for byte in value.utf8 {
            if special(byte) { escaped.append(UInt8(ascii: "\\")) }
            escaped.append(byte == UInt8(ascii: "\n") ? UInt8(ascii: "n") : byte)
        }
        return String(decoding: escaped, as: UTF8.self)
    }

    /// 200 with "ok" when every partition serves and the last online audit (if any) held;
    /// 503 with "degraded" and the reasons otherwise.
    private func health() -> Response {
        let depths = engine.queueDepths()
        var partitions: [JSON] = []
        var allServing = true
        for (partition, health) in engine.partitionHealth.enumerated() {
            var entry: [String: JSON] = [
                "partition": .number(Double(partition)),
                "applied": .number(Double(engine.appliedOffset(partition: partition))),
            ]
            switch health {
            case .serving:
                entry["status"] = "serving"
            case .failed(let reason):
                allServing = false
                entry["status"] = "failed"
                entry["reason"] = .string(reason)
            }
            partitions.append(.object(entry))
        }
        let healthy = allServing && !AuditStatus.failed(engine)
        let body: JSON = [
            "status": .string(healthy ? "ok" : "degraded"),
            "queued": .array(depths.map { .number(Double($0)) }),
            "epoch": .number(Double(engine.epoch)),
            "partitions": .array(partitions),
            "audit": AuditStatus.health(engine),
        ]
        return JSONResponses.json(body.serialized(), status: healthy ? .ok : .serviceUnavailable)
    }
}
