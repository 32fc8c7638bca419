import EddyClient
import Foundation
import Testing

/// A real `eddy serve` process on a free loopback port, for tests that must go through the
/// public interface: HTTP, the CLI, and `kill -9`.
public final class ServerProcess: @unchecked Sendable {
    // Why unchecked: `process`, `url` and `port` change only in start and stop, which tests
    // call from one task at a time; the lock guards reads from other tasks.
    private let lock = NSLock()
    private var process: Process?
    private var listeningURL: String?
    /// Claimed from `TestPorts` at the first start; restarts listen on it again, so clients
    /// that reconnect (subscriptions) find the server where they left it.
    private var port: Int?
    public let dataDirectory: String
    /// The configuration file passed with `--config`, or nil to run the embedded default.
    public let configPath: String?
    /// Where every start's stdout and stderr go.
    public let logPath: String
    /// This server's own temp directory (configuration, log, and its data unless given one),
    /// removed when the server object goes.
    private let scratch: String

    /// - Parameter config: YAML configuration, written to a temp file; nil runs the server on
    ///   its embedded default (`Config/eddy.yaml`), as `eddy serve` with no `--config` does.
    public init(config: String? = ServerProcess.defaultTestConfig, dataDirectory: String? = nil) throws {
        let scratch = try TemporaryDirectory.make(prefix: "eddy-test")
        self.scratch = scratch
        self.dataDirectory = dataDirectory ?? scratch + "/data"
        logPath = scratch + "/server.log"
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

    /// Starts the server and waits until it prints the address it listens on. Its output
    /// (stdout and stderr, every start) goes to `logPath`, which failures quote. The wait
    /// polls on a thread of its own, never on the cooperative pool (`onOwnThread`).
    public func start(timeout: Duration = .seconds(30)) async throws {
        try await onOwnThread { [self] in
            if let port = lock.withLock({ self.port }) {
                return try startBlocking(port: port, timeout: timeout)
            }
            // First start: a port held by some other program on the machine is given back and
            // another one tried. No client knows the port yet, so nothing is lost by moving.
            for attempt in 1...5 {
                let port = TestPorts.claim()
                do {
                    try startBlocking(port: port, timeout: timeout)
                    lock.withLock { self.port = port }
                    return
                } catch {
                    TestPorts.release(port)
                    let portTaken = (error as? Failure)?.description.contains("Address already in use") == true
                    if !portTaken || attempt == 5 { throw error }
                }
            }
        }
    }

    private func startBlocking(port: Int, timeout: Duration) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        // Warnings only, so failure messages quote what matters; EDDY_TEST_SERVER_LOG_LEVEL
        // (e.g. debug) shows the shutdown steps and more when a failure needs them.
        let logLevel = ProcessInfo.processInfo.environment["EDDY_TEST_SERVER_LOG_LEVEL"] ?? "warning"
        process.arguments = (configPath.map { ["serve", "--config", $0] } ?? ["serve"])
            + ["--data-dir", dataDirectory, "--listen", "127.0.0.1:\(port)", "--log-level", logLevel]
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        let startOffset = try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        try ChildProcess.run(process)
        lock.lock()
        self.process = process
        listeningURL = nil
        lock.unlock()

        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let output = Self.output(of: logPath, from: startOffset)
            if let range = output.range(of: "eddy listening on "), let end = output[range.upperBound...].firstIndex(of: " ") {
                lock.lock()
                listeningURL = String(output[range.upperBound..<end])
                lock.unlock()
                return
            }
            if let status = ChildProcess.exitStatus(of: process) {
                throw Failure("eddy serve exited with status \(status) before listening; output: \(output)")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        ChildProcess.kill9(process)
        throw Failure("eddy serve did not report listening within \(timeout); output: \(Self.output(of: logPath, from: startOffset))")
    }

    private static func output(of path: String, from offset: UInt64) -> String {
        guard let data = FileManager.default.contents(atPath: path), data.count > offset else { return "" }
        return String(decoding: data.dropFirst(Int(offset)), as: UTF8.self)
    }

    /// `kill -9`: the process dies at once, with no chance to flush or clean up.
    public func kill9() {
        guard let running = takeProcess() else { return }
        ChildProcess.kill9(running)
    }

    /// SIGTERM and wait: a graceful shutdown. A server still running after `timeout` is a
    /// bug under test; it is killed (so the test run goes on) and the error says so.
    public func stopGracefully(timeout: Duration = .seconds(20)) throws {
        guard let running = takeProcess(), let state = ChildProcess.terminate(running, timeout: timeout) else { return }
        throw Failure("eddy serve did not exit within \(timeout) of SIGTERM (\(state)); output: \(ChildProcess.tail(of: logPath))")
    }

    /// `stopGracefully`, for `defer`: a server that will not stop is killed, and the running
    /// test fails with the reason.
    public func stop() {
        do {
            try stopGracefully()
        } catch {
            Issue.record("\(error)")
        }
    }

    private func takeProcess() -> Process? {
        lock.lock()
        defer { lock.unlock() }
        let running = process
        process = nil
        return running
    }

    deinit {
        if let process { ChildProcess.kill9(process) }
        if let port { TestPorts.release(port) }
        try? FileManager.default.removeItem(atPath: scratch)
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

public enum TemporaryDirectory {
    public static func make(prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
