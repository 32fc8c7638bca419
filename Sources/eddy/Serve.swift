import ArgumentParser
import EddyDefaultConfig
import EddyServer
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server.",
        discussion: "With no options it runs the embedded default configuration (Config/eddy.yaml): 127.0.0.1:7420, data in ./eddy-data."
    )

    @Option(help: "A YAML configuration file. Without it, the embedded default is used.")
    var config: String?

    @Option(name: .customLong("data-dir"), help: "Data directory (overrides the configuration).")
    var dataDir: String?

    @Option(help: "Address to listen on as HOST:PORT (overrides the configuration). Port 0 picks a free port.")
    var listen: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var configuration: ServerConfiguration
        do {
            if let config {
                let text = try String(contentsOfFile: config, encoding: .utf8)
                configuration = try ConfigurationLoader.load(yaml: text, source: config)
            } else {
                configuration = try ConfigurationLoader.load(yaml: try DefaultConfig.yaml(), source: "embedded Config/eddy.yaml")
            }
            if let dataDir { configuration.engine.dataDirectory = dataDir }
            if let listen { try configuration.setListen(listen) }
        } catch {
            throw ValidationError("configuration: \(error)")
        }
        let dataDirectory = URL(fileURLWithPath: configuration.engine.dataDirectory).standardizedFileURL.path
        configuration.engine.dataDirectory = dataDirectory

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "eddy")
        try await Server.run(configuration: configuration, logger: logger) { address in
            // Tests and scripts read this line to learn the port; keep its shape stable.
            FileHandle.standardOutput.write(Data("eddy listening on http://\(address) with data in \(dataDirectory)\n".utf8))
        }
    }
}
