import EddyModel
import EddyStorage

/// Declarations changed at run time: a `declare` event is logged in partition 0 and becomes
/// the version that new queries and calls run with once it is durable.
extension Engine {
    /// At start-up: every version recorded so far, in order.
    func loadDeclarations() throws {
        for (version, source) in try RecordedDeclarations.versions(in: database) {
            do {
                try declarations.register(version, source: source)
            } catch {
                throw StartupError(description: "declarations version \(version), recorded in the log, no longer parse: \(error)")
            }
        }
    }

    /// Checks the declarations, logs them in partition 0, and starts using them.
    func declare(_ event: Event) async throws(EddyError) -> EventResult {
        do {
            _ = try declarations.parse(event.source ?? "")
        } catch let error as EddyError {
            throw error
        } catch {
            throw EddyError(.invalidDeclaration, "\(error)")
        }
        let gather = Gather(count: 1)
        worker(of: 0).submit(PartitionWork(partition: 0, event: event) { gather.deliver($0, at: 0) })
        guard case .result(let result) = await gather.wait()[0] else {
            throw EddyError(.partitionUnavailable, "partition 0, which records declarations, did not take the declaration")
        }
        guard result.error == nil, case .applied(let changes)? = result.outcome, let key = changes.first?.key, let version = UInt64(key) else {
            return result
        }
        do {
            try declarations.register(version, source: event.source ?? "")
        } catch {
            throw EddyError(.invalidDeclaration, "\(error)")
        }
        var writer = JSONObjectWriter()
        writer.string("id", event.id ?? "")
        writer.bool("ok", true)
        writer.raw("version", Array(String(version).utf8))
        return EventResult(body: writer.finish(), error: nil)
    }

    /// The current version and the names it declares, for `GET /v1/declarations`.
    public func declarationSummary() -> JSON {
        let (version, current) = declarations.current()
        return [
            "version": .number(Double(version)),
            "queries": .array(current.queries.keys.sorted().map(JSON.string)),
            "procedures": .array(current.procedures.keys.sorted().map(JSON.string)),
        ]
    }
}
