import EddyTestSupport
import Foundation
import Testing

/// `eddy bench floor`, the peer the load tool measures Eddy's HTTP cost against, must read
/// whole requests and answer each on a kept-alive connection, or its figure means nothing;
/// with `--handoff`, through its handoff thread, on one event loop or several.
@Suite struct TransportFloorTests {
    @Test(arguments: [[], ["--handoff"], ["--handoff", "--event-loops", "1"]])
    func floor_answersEveryRequestOnOneConnection_withTheFixedAcknowledgement(options: [String]) async throws {
        let scratch = try TemporaryDirectory.make(prefix: "eddy-floor")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outputPath = scratch + "/stdout"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        process.arguments = ["bench", "floor", "--listen", "127.0.0.1:0"] + options
        process.standardOutput = output
        process.standardError = output
        try ChildProcess.run(process)
        defer {
            let stuck = ChildProcess.terminate(process)
            #expect(stuck == nil, "the floor did not exit on SIGTERM: \(stuck ?? "")")
        }

        var url: String?
        let deadline = Date().addingTimeInterval(30)
        while url == nil, Date() < deadline, ChildProcess.exitStatus(of: process) == nil {
            let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
            url = text.split(separator: " ").first { $0.hasPrefix("http://") }.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if url == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let address = try #require(url, "the floor never said where it listens")

        let connection = try RawHTTPConnection(url: address)
        let body = #"{"op":"put","table":"bench","key":"k1","value":{"v":"\#(String(repeating: "x", count: 100))"}}"#
        // Both requests in one write: each must be parsed whole, in turn, and the connection kept open.
        try connection.send(RawHTTPConnection.request("POST", "/v1/events", body: body) + RawHTTPConnection.request("POST", "/v1/events", body: body))
        for _ in 0..<2 {
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"id":"floor-000000","ok":true,"position":"0:1"}"#)
        }
        let threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/task").map { task in
            String(decoding: FileManager.default.contents(atPath: "/proc/\(process.processIdentifier)/task/\(task)/comm") ?? Data(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(threads.contains("eddy-handoff") == options.contains("--handoff"), "threads: \(threads)")
        let eventLoops = options.contains("--event-loops") ? 1 : ProcessInfo.processInfo.activeProcessorCount
        #expect(threads.filter { $0.hasPrefix("NIO-ELT") }.count == eventLoops, "threads: \(threads)")
    }
}
