import EddyClient
import EddyModel

extension ServerProcess {
    /// Sends a procedure call until the server gives its outcome, always with the same ID, as
    /// a retrying client would: through connection failures while the server is down or
    /// restarting, `call_pending`, and `overloaded`. Any other error fails the test.
    public func callUntilAnswered(_ procedure: String, input: JSON, id: String, after: String? = nil,
                                  deadline: ContinuousClock.Instant) async throws -> JSON {
        var client: EddyClient? = nil
        defer { if let client { Task { await client.close() } } }
        while ContinuousClock.now < deadline {
            do {
                if client == nil { client = try EddyClient(url: url) }
                let (_, result) = try await client!.call(procedure, input: input, id: id, after: after)
                if let outcome = result["outcome"] { return outcome }
                let code = result["error"]?["code"]?.stringValue ?? ""
                guard ["call_pending", "overloaded", "shutting_down", "partition_unavailable"].contains(code) else {
                    throw Failure("\(procedure) \(id) failed: \(result.serializedString)")
                }
            } catch let error as Failure {
                throw error
            } catch {
                // The server is down or restarting: reconnect to wherever it listens next.
                if let open = client { await open.close() }
                client = nil
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure("\(procedure) \(id) got no outcome before the deadline")
    }
}
