import EddyEngine
import ServiceLifecycle

/// Runs an online audit every `audit.intervalSeconds` while the server runs; the results
/// show in `/health` and `/metrics`. The first audit runs one interval after start.
///
/// This task only waits: each audit runs on the engine's audit thread. It stops at graceful
/// shutdown, and cancelling it stops an audit in progress, so shutdown does not wait for one.
struct BackgroundAuditor: Service {
    let engine: Engine
    let interval: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                // A refusal (an audit requested over HTTP is running) just skips this round:
                // that audit's result is as fresh.
                _ = await engine.audit(trigger: .background)
            }
        }
    }
}
