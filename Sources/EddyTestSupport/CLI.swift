import EddyModel
import Foundation

/// Runs the `eddy` CLI as a user would and captures what it prints.
public enum CLI {
    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var lines: [String] { stdout.split(separator: "\n").map(String.init) }

        /// Output line `index` (from 0) as JSON. Throws, quoting stderr, when the command
        /// printed fewer lines, so a failed command fails its test instead of crashing the run.
        public func json(line index: Int = 0) throws -> JSON {
            guard index < lines.count else {
                throw ServerProcess.Failure("eddy printed \(lines.count) line(s), not line \(index + 1); status \(status), stderr: \(stderr)")
            }
            return try JSON(parsing: lines[index])
        }
    }

    /// Runs `eddy` with `arguments`; a run still going after `timeout` is killed and throws.
    /// Output goes to files, not pipes, so a chatty command never blocks on a full pipe. The
    /// wait happens on a thread of its own, never on the cooperative pool (`onOwnThread`).
    public static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(120)) async throws -> Run {
        try await onOwnThread { try runBlocking(arguments, stdin: stdin, environment: environment, timeout: timeout) }
    }

    private static func runBlocking(_ arguments: [String], stdin: String?, environment: [String: String], timeout: Duration) throws -> Run {
        let scratch = try TemporaryDirectory.make(prefix: "eddy-cli")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let paths = (stdin: scratch + "/stdin", stdout: scratch + "/stdout", stderr: scratch + "/stderr")
        for path in [paths.stdin, paths.stdout, paths.stderr] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        try Data((stdin ?? "").utf8).write(to: URL(fileURLWithPath: paths.stdin))
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: paths.stdin))
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: paths.stdout))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: paths.stderr))
        defer { [input, out, err].forEach { try? $0.close() } }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try ChildProcess.run(process)
        guard let status = ChildProcess.waitForExit(process, timeout: timeout) else {
            ChildProcess.kill9(process)
            throw ServerProcess.Failure("eddy \(arguments.joined(separator: " ")) did not finish within \(timeout); stderr: \(ChildProcess.tail(of: paths.stderr))")
        }
        let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return Run(status: status, stdout: read(paths.stdout), stderr: read(paths.stderr))
    }
}
