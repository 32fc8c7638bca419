import ArgumentParser
import EddyDefaultConfig
import EddyEngine
import EddyModel
import EddyServer
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a stopped server's data directory against its log.",
        discussion: """
            Verifies every partition's hash chain, re-derives each partition's state by replaying \
            its log, checks each recorded outcome, and compares the re-derived state with the live \
            state. Prints one JSON line per partition, then a summary line. Exits 0 only if \
            everything holds. The server must be stopped: the audit opens the data directory exclusively.
            """
    )

    @Option(name: .customLong("data-dir"), help: "The data directory to audit.")
    var dataDir: String = "eddy-data"

    @Option(help: "The configuration the server ran with (for its limits and declarations). Defaults to the embedded one.")
    var config: String?

    func run() async throws {
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
        let report: AuditReport
        do {
            report = try Auditor.audit(dataDirectory: dataDir, limits: engine.limits, declarations: engine.declarations, parser: engine.declarationParser, scratchDirectory: scratch)
        } catch {
            throw Output.fail("\(error)")
        }
        for partition in report.partitions { Output.line(partition.json) }
        Output.line(report.summary)
        if !report.isClean {
            let bad = report.partitions.filter { !$0.isClean }.map { "\($0.partition)" }.joined(separator: ", ")
            throw Output.fail("audit failed for partition(s) \(bad)")
        }
    }
}
