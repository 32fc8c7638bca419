import EddyEngine
import EddyModel

/// The online audit's part of `/health` and `/metrics`.
enum AuditStatus {
    /// The `audit` object of `/health`: the last result in short, or null before the first.
    static func health(_ engine: Engine) -> JSON {
        guard var members = engine.lastAudit?.summary.objectValue else { return .null }
        members["running"] = .bool(engine.auditTotals.running)
        return .object(members)
    }

    /// Whether `/health` must report degraded: the last audit found problems.
    static func failed(_ engine: Engine) -> Bool {
        engine.lastAudit.map { !$0.ok } ?? false
    }

    /// Prometheus text. The last run's figures appear once an audit has finished.
    static func metrics(_ engine: Engine) -> String {
        let totals = engine.auditTotals
        var lines = [
            "# TYPE eddy_audit_runs_total counter", "eddy_audit_runs_total \(totals.runs)",
            "# TYPE eddy_audit_failures_total counter", "eddy_audit_failures_total \(totals.failures)",
            "# TYPE eddy_audit_running gauge", "eddy_audit_running \(totals.running ? 1 : 0)",
        ]
        if let last = engine.lastAudit {
            lines += [
                "# TYPE eddy_audit_last_ok gauge", "eddy_audit_last_ok \(last.ok ? 1 : 0)",
                "# TYPE eddy_audit_records_verified gauge", "eddy_audit_records_verified \(last.report?.recordsVerified ?? 0)",
                "# TYPE eddy_audit_seconds gauge", "eddy_audit_seconds \(last.seconds)",
                "# TYPE eddy_audit_last_finished_timestamp_seconds gauge",
                "eddy_audit_last_finished_timestamp_seconds \(last.finished.timeIntervalSince1970.rounded())",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
