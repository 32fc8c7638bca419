import ArgumentParser
import EddyClient
import EddyModel

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read a document. The read is logged with its client name.")
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Argument var key: String
    @Option(help: "Client name kept in the read record.") var client: String?
    @Option(help: "A position token: wait until the server has applied it.") var after: String?

    func run() async throws {
        var extra: [String: JSON] = [:]
        if let client { extra["client"] = .string(client) }
        if let after { extra["after"] = .string(after) }
        try await Output.perform(options, EddyClient.event("get", table, key, id: nil, extra))
    }
}

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List documents of a table in key order, across partitions.")
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Option(help: "Only keys starting with this.") var prefix: String = ""
    @Option(help: "Most documents to return.") var limit: Int?
    @Option(help: "Client name kept in the read record.") var client: String?

    func run() async throws {
        var object: [String: JSON] = ["op": "scan", "table": .string(table), "prefix": .string(prefix)]
        if let limit { object["limit"] = .number(Double(limit)) }
        if let client { object["client"] = .string(client) }
        try await Output.perform(options, .object(object))
    }
}
