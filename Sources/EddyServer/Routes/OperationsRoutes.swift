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
        lines.append("# TYPE eddy_subscription_lag_records gauge")
        lines += lags.map { "eddy_subscription_lag_records{subscription=\"\(Self.escape($0.subscription))\"} \($0.records)" }
        lines.append("# TYPE eddy_subscription_buffered_messages gauge")
        lines += lags.map { "eddy_subscription_buffered_messages{subscription=\"\(Self.escape($0.subscription))\"} \($0.buffered)" }
        lines.append("# TYPE eddy_subscription_catching_up gauge")
        lines += lags.map { "eddy_subscription_catching_up{subscription=\"\(Self.escape($0.subscription))\"} \($0.catchingUp ? 1 : 0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Prometheus label value: backslash, quote and newline escaped.
    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
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
