import Metrics
import EddyModel

/// The engine's metrics, created once. Exported by whatever metrics backend the process
/// bootstraps (the server uses Prometheus at `/metrics`).
final class EngineMetrics: Sendable {
    private let groupEvents: Recorder
    private let groupSeconds: Metrics.Timer
    private let durableGroups: Counter
    private let replays: Counter
    private let loggedEvents: Counter
    private let inboxDepth: [Gauge]
    private let requestSeconds: [Op: Metrics.Timer]
    private let events: [Op: Counter]

    init(workers: Int) {
        groupEvents = Recorder(label: "eddy_group_commit_events", aggregate: true)
        groupSeconds = Metrics.Timer(label: "eddy_group_commit_seconds")
        durableGroups = Counter(label: "eddy_durable_groups_total")
        replays = Counter(label: "eddy_request_id_replays_total")
        loggedEvents = Counter(label: "eddy_logged_events_total")
        inboxDepth = (0..<workers).map { Gauge(label: "eddy_inbox_depth", dimensions: [("worker", "\($0)")]) }
        requestSeconds = Dictionary(uniqueKeysWithValues: Op.allCases.map { ($0, Metrics.Timer(label: "eddy_request_seconds", dimensions: [("op", $0.rawValue)])) })
        events = Dictionary(uniqueKeysWithValues: Op.allCases.map { ($0, Counter(label: "eddy_events_total", dimensions: [("op", $0.rawValue)])) })
    }

    func recordGroup(partition: Int, events: Int, logged: Int, synced: Bool, duration: Duration) {
        groupEvents.record(events)
        groupSeconds.recordNanoseconds(duration.nanoseconds)
        loggedEvents.increment(by: logged)
        if synced { durableGroups.increment() }
    }

    func recordInboxDepth(worker: Int, depth: Int) {
        inboxDepth[worker].record(depth)
    }

    func recordReplay() {
        replays.increment()
    }

    func recordRequest(op: Op, duration: Duration) {
        events[op]?.increment()
        requestSeconds[op]?.recordNanoseconds(duration.nanoseconds)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
