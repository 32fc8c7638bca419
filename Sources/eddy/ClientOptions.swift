import ArgumentParser
import EddyClient
import EddyModel
import Foundation

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(help: "Server URL. Defaults to EDDY_SERVER, then http://127.0.0.1:7420.")
    var server: String?

    var url: String {
        server ?? ProcessInfo.processInfo.environment["EDDY_SERVER"] ?? "http://127.0.0.1:7420"
    }

    func client() throws -> EddyClient {
        try EddyClient(url: url)
    }
}

/// How client commands report: a result line on stdout, or a message on stderr and a
/// non-zero exit.
enum Output {
    static func line(_ json: JSON) {
        print(json.serializedString)
    }

    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("eddy: \(message)\n".utf8))
        return ExitCode.failure
    }

    /// Sends one event and prints its result; a rejected event becomes an error exit.
    static func perform(_ options: ClientOptions, _ event: JSON) async throws {
        let client = try options.client()
        let result: JSON
        do {
            result = try await client.send(event).result
            await client.close()
        } catch {
            throw fail("cannot reach the server: \(error)")
        }
        if result["ok"]?.boolValue == true {
            line(result)
        } else if let error = result["error"].flatMap(EddyError.init(json:)) {
            throw fail("\(error.code.rawValue): \(error.message)")
        } else {
            throw fail("unexpected reply: \(result.serializedString)")
        }
    }

    /// Parses a JSON argument, with a clear message on failure.
    static func json(_ text: String, what: String) throws -> JSON {
        do {
            return try JSON(parsing: text)
        } catch {
            throw ValidationError("\(what) is not valid JSON: \(error.message)")
        }
    }
}
