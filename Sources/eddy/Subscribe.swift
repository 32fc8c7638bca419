import ArgumentParser
import EddyClient
import EddyModel

struct Subscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a key, a key prefix or a whole table: its documents now, then every change, one JSON line each.",
        discussion: """
            Each line carries its cursor. If the connection drops, the command reconnects and resumes \
            after the last cursor it printed; to resume later, pass that cursor as --from.
            """
    )
    @OptionGroup var options: ClientOptions
    @Argument var table: String
    @Argument(help: "One key to follow; omit for the whole table (or --prefix).") var key: String?
    @Option(help: "Follow the keys starting with this.") var prefix: String?
    @Option(help: "A cursor from an earlier change: resume after it instead of taking a snapshot.") var from: String?
    @Option(help: "Stop after printing this many lines.") var count: Int?
    @Option(help: "Subscription ID (the server assigns one if omitted).") var id: String?

    func validate() throws {
        if key != nil && prefix != nil { throw ValidationError("give a KEY or --prefix, not both") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let client = try options.client()
        var printed = 0
        do {
            for try await change in client.subscribe(table, key: key, prefix: prefix, from: from, id: id) {
                Output.line(change.json)
                printed += 1
                if let count, printed >= count { return }
            }
        } catch let error as EddyError {
            throw Output.fail("\(error.code.rawValue): \(error.message)")
        } catch {
            throw Output.fail("subscription failed: \(error)")
        }
    }
}
