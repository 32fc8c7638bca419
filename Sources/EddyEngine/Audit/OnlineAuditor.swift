import EddyModel
import EddyStorage
import EddyThreads
import Foundation
import Logging
import Synchronization

/// Audits a running server: takes a RocksDB checkpoint of its data (a consistent point in
/// time, made of hard links, while writers go on), runs the offline `Auditor` on that copy,
/// and deletes it. At most one audit runs at a time.
///
/// The audit runs on a thread started for it: it is blocking RocksDB work that may take
/// minutes, so it must not hold a NIO event loop or a task executor thread.
final class OnlineAuditor: Sendable {
    /// Counts since the server started, for `/metrics`.
    struct Totals: Sendable {
        var runs: UInt64 = 0
        var failures: UInt64 = 0
        var running = false
    }

    private struct State {
        var totals = Totals()
        var last: AuditRun?
        var closed = false
        /// The running audit's stop flag, for `close`.
        var current: StopFlag?
    }

    /// Set to stop one audit: by `close`, or when the task that asked for it is cancelled.
    private final class StopFlag: Sendable {
        private let stopped = Atomic<Bool>(false)
        var isSet: Bool { stopped.load(ordering: .relaxed) }
        func set() { stopped.store(true, ordering: .relaxed) }
    }

    private let database: Database
    /// Holds the checkpoint and the scratch store while an audit runs. Inside the data
    /// directory, so the checkpoint's hard links stay on one file system (elsewhere RocksDB
    /// would copy every file) and a crash's leftovers are found and removed by the next audit.
    private let workDirectory: String
    private let limits: Limits
    /// The configuration's declarations and the parser of run-time ones: queries and calls
    /// are re-run with the version they ran with.
    private let declarations: Declarations
    private let parser: DeclarationRegistry.Parser?
    private let logger: Logger
    private let state = Mutex(State())
    /// Entered while an audit thread runs; `close` waits on it.
    private let running = DispatchGroup()

    init(database: Database, dataDirectory: String, limits: Limits, declarations: Declarations, parser: DeclarationRegistry.Parser?, logger: Logger) {
        self.database = database
        self.workDirectory = dataDirectory + "/audit"
        self.limits = limits
        self.declarations = declarations
        self.parser = parser
        self.logger = logger
    }

    var last: AuditRun? { state.withLock { $0.last } }
    var totals: Totals { state.withLock { $0.totals } }

    /// Runs an audit now and returns what it found. Fails with `audit_running` while another
    /// runs and with `shutting_down` once the engine is closing. Cancelling the calling task
    /// stops the audit at its next check; a stopped audit is returned but not recorded.
    func run(trigger: AuditRun.Trigger) async -> Result<AuditRun, EddyError> {
        let stop = StopFlag()
        let refusal: EddyError? = state.withLock { state in
            if state.closed { return EddyError(.shuttingDown, "the server is shutting down") }
            if state.totals.running {
                return EddyError(.auditRunning, "an audit is already running; its result will be at GET /v1/audit")
            }
            state.totals.running = true
            state.current = stop
            running.enter()
            return nil
        }
        if let refusal { return .failure(refusal) }
        let run = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<AuditRun, Never>) in
                NamedThread.start("eddy-audit") { [self] in
                    let run = audit(trigger: trigger, stop: stop)
                    state.withLock { state in
                        state.totals.running = false
                        state.current = nil
                        guard !stop.isSet else { return }
                        state.totals.runs += 1
                        if !run.ok { state.totals.failures += 1 }
                        state.last = run
                    }
                    running.leave()
                    continuation.resume(returning: run)
                }
            }
        } onCancel: {
            stop.set()
        }
        if stop.isSet {
            logger.notice("audit stopped before its end")
        } else if run.ok {
            logger.info("audit clean", metadata: ["records": "\(run.report?.recordsVerified ?? 0)", "seconds": "\(run.seconds)"])
        } else {
            logger.error("audit failed", metadata: ["problems": "\(run.problems.prefix(AuditRun.summaryProblemsMax))"])
        }
        return .success(run)
    }

    /// Stops a running audit at its next check and waits for its thread, so the checkpoint
    /// is never taken from a closed database. Later runs fail with `shutting_down`.
    func close() {
        state.withLock { state in
            state.closed = true
            state.current?.set()
        }
        running.wait()
    }

    /// Blocking: checkpoint, audit, clean up. Runs on the audit thread.
    private func audit(trigger: AuditRun.Trigger, stop: StopFlag) -> AuditRun {
        let started = Date()
        let checkpoint = workDirectory + "/checkpoint"
        let scratch = workDirectory + "/scratch"
        // Whatever an earlier audit left (a crash mid-audit) goes first: a checkpoint
        // needs a directory that does not exist yet.
        try? FileManager.default.removeItem(atPath: workDirectory)
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        var run = AuditRun(trigger: trigger, started: started, finished: started)
        do {
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
            try database.checkpoint(to: checkpoint)
        } catch {
            run.failure = "cannot take a checkpoint of the data directory: \(error)"
            run.finished = Date()
            return run
        }
        do {
            run.report = try Auditor.audit(
                dataDirectory: checkpoint, limits: limits, declarations: declarations, parser: parser, scratchDirectory: scratch
            ) { stop.isSet }
        } catch {
            run.failure = "\(error)"
        }
        run.finished = Date()
        return run
    }
}
