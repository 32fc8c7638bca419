import ArgumentParser
import EddyClient
import EddyModel

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a declared fan-out query, e.g. eddy query fraud_score '{\"ip\":…,\"email\":…,\"billing\":…,\"shipping\":…}'."
    )
    @OptionGroup var options: ClientOptions
    @Argument(help: "The query's name, as declared in the configuration.") var name: String
    @Argument(help: "The query's input, as a JSON object.") var json: String
    @Option(help: "Request ID: a retry with the same ID returns the first answer.") var id: String?
    @Option(help: "A position token: the lookups see at least the writes it names.") var after: String?

    func run() async throws {
        try await Output.perform(options, EddyClient.queryEvent(name, input: try Output.json(json, what: "input"), id: id, after: after))
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a declared procedure, e.g. eddy call transfer '{\"from\":\"a\",\"to\":\"b\",\"amount\":5}' --id t1.",
        discussion: "Prints the call's recorded outcome. A rejected call prints its reason on stderr and exits non-zero."
    )
    @OptionGroup var options: ClientOptions
    @Argument(help: "The procedure's name, as declared in the configuration.") var procedure: String
    @Argument(help: "The procedure's input, as a JSON object.") var json: String
    @Option(help: "Request ID: the call applies once however often it is sent, and a retry returns its outcome.") var id: String?
    @Option(help: "A position token, e.g. from an earlier write: every stage of the call sees at least the writes it names.") var after: String?

    func run() async throws {
        try await Output.perform(options, EddyClient.callEvent(procedure, input: try Output.json(json, what: "input"), id: id, after: after))
    }
}
