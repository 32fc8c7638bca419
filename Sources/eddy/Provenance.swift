import ArgumentParser
import EddyClient
import EddyModel
import Foundation

struct Provenance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what an event did or saw, and the writes behind it; or what a client read.",
        discussion: """
            With an ID: the event's log record(s); for a read, what it asked, the position it saw, \
            what it returned (checked against the recorded digest) and the writes that produced \
            each document; recursively for the events it named in causedBy. \
            With --client: that client's reads in a time range.
            """
    )
    @OptionGroup var options: ClientOptions
    @Argument(help: "An event ID: a request ID, or one the server assigned (\"@…\").") var id: String?
    @Option(help: "Levels of causedBy to follow.") var depth = 3
    @Option(help: "Instead of an ID: list the reads of this client.") var client: String?
    @Option(help: "With --client: from this time, in milliseconds since 1970.") var fromMs: Int?
    @Option(help: "With --client: up to this time, in milliseconds since 1970.") var toMs: Int?
    @Option(help: "With --client: at most this many reads.") var limit: Int?

    func validate() throws {
        if (id == nil) == (client == nil) { throw ValidationError("give an event ID or --client, one of them") }
    }

    func run() async throws {
        let path: String
        if let id {
            path = "/v1/provenance/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? id)?depth=\(depth)"
        } else {
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "client", value: client)]
                + [("from", fromMs), ("to", toMs), ("limit", limit)].compactMap { name, value in value.map { URLQueryItem(name: name, value: "\($0)") } }
            path = "/v1/provenance?" + (components.percentEncodedQuery ?? "")
        }
        let client = try options.client()
        let reply: HTTPReply
        do {
            reply = try await client.request(method: "GET", path: path)
            await client.close()
        } catch {
            throw Output.fail("cannot reach the server: \(error)")
        }
        let json = try JSON(parsing: reply.body, maxDepth: Limits.storedJSONDepthMax)
        guard json["ok"]?.boolValue == true else {
            let error = json["error"].flatMap(EddyError.init(json:))
            throw Output.fail(error.map { "\($0.code.rawValue): \($0.message)" } ?? "unexpected reply: \(json.serializedString)")
        }
        Output.line(json)
    }
}
