public import EddyModel

extension Engine {
    /// Audits the running server: a checkpoint of the data directory, audited offline on a
    /// thread of its own, then deleted. Fails with `audit_running` while another audit runs.
    public func audit(trigger: AuditRun.Trigger = .request) async -> Result<AuditRun, EddyError> {
        await onlineAuditor.run(trigger: trigger)
    }

    /// The last finished online audit since start, or nil.
    public var lastAudit: AuditRun? { onlineAuditor.last }

    /// Online audits since start: how many finished, how many found problems, and whether one runs now.
    public var auditTotals: (runs: UInt64, failures: UInt64, running: Bool) {
        let totals = onlineAuditor.totals
        return (totals.runs, totals.failures, totals.running)
    }
}
