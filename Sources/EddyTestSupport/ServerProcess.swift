import EddyClient
import Foundation

/// A real `eddy serve` process on a free loopback port, for tests that must go through the
/// public interface: HTTP, the CLI, and `kill -9`.
public final class ServerProcess: @unchecked Sendable {
    // Why unchecked: `process` and `url` change only in start/stop, which tests call from one
    // task at a time; the lock guards them against the output reader thread.
    private let lock = NSLock()
    private var process: Process?
    private var listeningURL: String?
    /// The port of the first start; restarts listen on it again, so clients that reconnect
    /// (subscriptions) find the server where they left it.
    private var port = 0
    public let dataDirectory: String
    /// The configuration file passed with `--config`, or nil to run the embedded default.
    public let configPath: String?

    /// - Parameter config: YAML configuration, written to a temp file; nil runs the server on
    ///   its embedded default (`Config/eddy.yaml`), as `eddy serve` with no `--config` does.
    public init(config: String? = ServerProcess.defaultTestConfig, dataDirectory: String? = nil) throws {
        let scratch = try TemporaryDirectory.make(prefix: "eddy-test")
        self.dataDirectory = dataDirectory ?? scratch + "/data"
        if let config {
            configPath = scratch + "/eddy.yaml"
            try config.write(toFile: scratch + "/eddy.yaml", atomically: true, encoding: .utf8)
        } else {
            configPath = nil
        }
    }

    /// Tables every test configuration declares.
    public static let defaultTestConfig = """
        storage:
          partitions: 8
        subscriptions:
          # Idle streams are probed often, so servers notice departed subscribers quickly.
          heartbeatSeconds: 1
        tables:
          - name: users
          - name: counters
          - name: stock
          - name: orders
        """

    public var url: String {
        lock.lock()
        defer { lock.unlock() }
        return listeningURL ?? "http://127.0.0.1:1"
    }

    public var pid: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return process?.processIdentifier
    }

    public func client() throws -> EddyClient {
        try EddyClient(url: url)
    }

    /// Starts the server and waits until it prints the address it listens on.
    public func start(timeout: Duration = .seconds(30)) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = (configPath.map { ["serve", "--config", $0] } ?? ["serve"])
            + ["--data-dir", dataDirectory, "--listen", "127.0.0.1:\(port)", "--log-level", "warning"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.lock()
        self.process = process
        listeningURL = nil
        lock.unlock()

        let deadline = ContinuousClock.now + timeout
        var seen = ""
        while ContinuousClock.now < deadline {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty {
                if !process.isRunning { throw Failure("eddy serve exited with status \(process.terminationStatus) before listening; output: \(seen)") }
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            seen += String(decoding: chunk, as: UTF8.self)
            if let range = seen.range(of: "eddy listening on "), let end = seen[range.upperBound...].firstIndex(of: " ") {
                lock.lock()
                listeningURL = String(seen[range.upperBound..<end])
                port = listeningURL.flatMap { $0.split(separator: ":").last.flatMap { Int($0) } } ?? 0
                lock.unlock()
                // Keep draining stdout so the server never blocks on a full pipe.
                stdout.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
                return
            }
        }
        process.terminate()
        throw Failure("eddy serve did not report listening within \(timeout); output: \(seen)")
    }

    /// `kill -9`: the process dies at once, with no chance to flush or clean up.
    public func kill9() {
        lock.lock()
        let running = process
        process = nil
        lock.unlock()
        guard let running else { return }
        kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
    }

    /// SIGTERM and wait: a graceful shutdown.
    public func stop() {
        lock.lock()
        let running = process
        process = nil
        lock.unlock()
        guard let running, running.isRunning else { return }
        running.terminate()
        running.waitUntilExit()
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }

    /// The `eddy` binary next to the test runner, as SwiftPM builds them into one folder.
    public static var binaryPath: String {
        if let explicit = ProcessInfo.processInfo.environment["EDDY_BINARY"] { return explicit }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        // Linux runs `<bin>/eddyPackageTests.xctest`; step out of a bundle if there is one.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("eddy").path
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}

/// Runs the `eddy` CLI as a user would and captures what it prints.
public enum CLI {
    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    public static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self))
    }
}

public enum TemporaryDirectory {
    public static func make(prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
