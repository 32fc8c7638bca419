public import EddyModel
public import Foundation

/// One online audit of the running server: when it ran, why, and what it found.
public struct AuditRun: Sendable {
    public enum Trigger: String, Sendable {
        /// `POST /v1/audit` (or `eddy audit --server`).
        case request
        /// The background auditor (`audit.intervalSeconds`).
        case background
    }

    public var trigger: Trigger
    public var started: Date
    public var finished: Date
    /// What the auditor found; nil when it could not run to the end (see `failure`).
    public var report: AuditReport?
    /// Why the audit could not run: no checkpoint (disk full, say), or a damaged copy.
    public var failure: String?

    /// Problems listed in summaries such as `/health`; the full list is in the report.
    public static let summaryProblemsMax = 10

    /// True only if the audit ran to the end and every partition holds.
    public var ok: Bool { failure == nil && report?.isClean == true }

    public var seconds: Double { finished.timeIntervalSince(started) }

    /// Every problem found, each naming its partition, the failure first.
    public var problems: [String] {
        var all = failure.map { [$0] } ?? []
        for partition in report?.partitions ?? [] {
            all += partition.problems.map { "partition \(partition.partition): \($0)" }
        }
        return all
    }

    /// The short form for `/health`: when, ok, and the first problems.
    public var summary: JSON {
        let all = problems
        var object: [String: JSON] = [
            "ok": .bool(ok),
            "trigger": .string(trigger.rawValue),
            "finishedAt": .string(finished.formatted(.iso8601)),
            "seconds": .number((seconds * 1000).rounded() / 1000),
            "recordsVerified": .number(Double(report?.recordsVerified ?? 0)),
            "problems": .array(all.prefix(Self.summaryProblemsMax).map(JSON.string)),
        ]
        if all.count > Self.summaryProblemsMax { object["problemsOmitted"] = .number(Double(all.count - Self.summaryProblemsMax)) }
        return .object(object)
    }

    /// The full form for `/v1/audit`: the lines `eddy audit` prints, as `summary` (its last
    /// line) and `partitions` (one object per partition), with when and why it ran.
    public var json: JSON {
        var object: [String: JSON] = [
            "ok": .bool(ok),
            "trigger": .string(trigger.rawValue),
            "startedAt": .string(started.formatted(.iso8601)),
            "finishedAt": .string(finished.formatted(.iso8601)),
            "partitions": .array(report?.partitions.map(\.json) ?? []),
        ]
        if let report { object["summary"] = report.summary }
        if let failure { object["failure"] = .string(failure) }
        return .object(object)
    }
}
