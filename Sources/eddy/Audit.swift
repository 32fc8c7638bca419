import ArgumentParser
import EddyClient
import EddyDefaultConfig
import EddyEngine
import EddyModel
import EddyServer
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a server's data against its log: a stopped server's data directory, or a running server.",
        discussion: """
            Verifies every partition's hash chain, re-derives each partition's state by replaying \
            its log (from the verified base snapshot of what retention removed, if it removed any), \
            checks each recorded outcome, and compares the re-derived state with the live state. Prints one JSON line per partition, then a summary line. Exits 0 only if \
            everything holds.

            With --data-dir (or neither option, for ./eddy-data) the audit is offline: the server \
            must be stopped, since the audit opens the data directory exclusively. With --server \
            the running server audits a checkpoint of its own data (POST /v1/audit) while it serves.
            """
    )

    @Option(name: .customLong("data-dir"), help: "The data directory of a stopped server to audit. Default: eddy-data.")
    var dataDir: String?

    @Option(help: "The URL of a running server to audit online, e.g. http://127.0.0.1:7420.")
    var server: String?

    @Option(help: "The configuration the server ran with (for its limits and declarations; offline only). Defaults to the embedded one.")
    var config: String?

    func validate() throws {
        if dataDir != nil, server != nil {
            throw ValidationError("give --data-dir (offline) or --server (online), not both")
        }
        if server != nil, config != nil {
            throw ValidationError("--config is for offline audits; a running server audits with its own configuration")
        }
    }

    func run() async throws {
        if let server {
            try await Self.online(server)
            return
        }
        let report = try offline(dataDir ?? "eddy-data")
        for partition in report.partitions { Output.line(partition.json) }
        Output.line(report.summary)
        if !report.isClean {
            throw Output.fail("audit failed for partition(s) \(Self.failed(report.partitions.map(\.json)))")
        }
    }

    private func offline(_ dataDirectory: String) throws -> AuditReport {
        let engine: EngineConfiguration
        do {
            if let config {
                engine = try ConfigurationLoader.load(yaml: String(contentsOfFile: config, encoding: .utf8), source: config).engine
            } else {
                engine = try ConfigurationLoader.load(yaml: DefaultConfig.yaml(), source: "embedded Config/eddy.yaml").engine
            }
        } catch {
            throw Output.fail("configuration: \(error)")
        }
        let scratch = NSTemporaryDirectory() + "eddy-audit-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            return try Auditor.audit(
                dataDirectory: dataDirectory, limits: engine.limits, declarations: engine.declarations, parser: engine.declarationParser, scratchDirectory: scratch
            )
        } catch {
            throw Output.fail("\(error)")
        }
    }

    /// Prints the same lines as an offline audit, from the server's report.
    private static func online(_ url: String) async throws {
        let report: JSON
        do {
            let client = try EddyClient(url: url)
            report = try await client.audit()
            await client.close()
        } catch let error as EddyError {
            throw Output.fail("\(error.code.rawValue): \(error.message)")
        } catch {
            throw Output.fail("cannot reach the server: \(error)")
        }
        let partitions = report["partitions"]?.arrayValue ?? []
        for partition in partitions { Output.line(partition) }
        if let summary = report["summary"] { Output.line(summary) }
        guard report["ok"]?.boolValue == true else {
            if let failure = report["failure"]?.stringValue { throw Output.fail("audit could not run: \(failure)") }
            throw Output.fail("audit failed for partition(s) \(failed(partitions))")
        }
    }

    /// "2, 5": the partitions whose report says not ok.
    private static func failed(_ partitions: [JSON]) -> String {
        partitions.filter { $0["ok"]?.boolValue != true }.compactMap { $0["partition"]?.numberValue.map { "\(Int($0))" } }.joined(separator: ", ")
    }
}
