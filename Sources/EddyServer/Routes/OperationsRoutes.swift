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
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }

    /// 200 with "ok" when every partition serves; 503 with "degraded" and the reasons otherwise.
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
        let body: JSON = [
            "status": .string(allServing ? "ok" : "degraded"),
            "queued": .array(depths.map { .number(Double($0)) }),
            "epoch": .number(Double(engine.epoch)),
            "partitions": .array(partitions),
        ]
        return JSONResponses.json(body.serialized(), status: allServing ? .ok : .serviceUnavailable)
    }
}
