import ArgumentParser
import EddyClient
import EddyModel

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Store a JSON document under a key, replacing any.")
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Argument var key: String
    @Argument(help: "The document, as JSON.") var json: String
    @Option(help: "Request ID: a retry with the same ID changes nothing twice.") var id: String?

    func run() async throws {
        try await Output.perform(options, EddyClient.event("put", table, key, id: id, ["value": try Output.json(json, what: "JSON")]))
    }
}

struct Insert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Store a document only if the key is absent; fails with a conflict otherwise.")
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Argument var key: String
    @Argument(help: "The document, as JSON.") var json: String
    @Option(help: "Request ID.") var id: String?

    func run() async throws {
        try await Output.perform(options, EddyClient.event("insert", table, key, id: id, ["value": try Output.json(json, what: "JSON")]))
    }
}

struct Patch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply a JSON merge patch (RFC 7396) to a document.")
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Argument var key: String
    @Argument(help: "The merge patch, as JSON.") var json: String
    @Option(help: "Request ID.") var id: String?

    func run() async throws {
        try await Output.perform(options, EddyClient.event("patch", table, key, id: id, ["value": try Output.json(json, what: "JSON")]))
    }
}

struct Incr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add N to a numeric field of a document.")
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Argument var key: String
    @Argument var field: String
    @Argument(help: "The amount to add (may be negative).") var amount: Double
    @Option(help: "Request ID.") var id: String?

    func run() async throws {
        try await Output.perform(options, EddyClient.event("incr", table, key, id: id, ["field": .string(field), "by": .number(amount)]))
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a document.")
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Argument var key: String
    @Option(help: "Request ID.") var id: String?

    func run() async throws {
        try await Output.perform(options, EddyClient.event("delete", table, key, id: id, [:]))
    }
}

