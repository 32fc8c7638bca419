import EddyTestSupport
import Foundation
import Testing

/// `eddy bench floor`, the peer the load tool measures Eddy's HTTP cost against, must read
/// whole requests and answer each on a kept-alive connection, or its figure means nothing;
/// with `--handoff`, through its handoff thread; with `--event-loops N`, on N loops of its own.
@Suite struct TransportFloorTests {
    /// More loops than the machine has cores, so that a floor ignoring the option (and
    /// serving on NIO's shared loops, one per core) cannot pass.
    static let ownLoops = ProcessInfo.processInfo.activeProcessorCount + 1

    @Test(arguments: [[], ["--handoff"], ["--handoff", "--event-loops", "\(ownLoops)"]])
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

        // The handoff thread names itself once it runs, which on a loaded machine can be
        // after the floor listens: wait until it has gone to sleep waiting for work once.
        var threads: [ChildProcess.KernelThread]
        var handoffThread: ChildProcess.KernelThread?
        while true {
            threads = ChildProcess.threads(of: process.processIdentifier)
            handoffThread = threads.first { $0.name == "eddy-handoff" }
            guard options.contains("--handoff"), (handoffThread?.voluntarySwitches ?? 0) < 1, Date() < deadline else { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect((handoffThread != nil) == options.contains("--handoff"), "threads: \(threads.map(\.name))")
        let ownLoops = threads.filter { $0.name.hasPrefix("NIO-ELT") }.count
        #expect(ownLoops == (options.contains("--event-loops") ? Self.ownLoops : 0), "threads: \(threads.map(\.name))")
        let switchesBefore = handoffThread?.voluntarySwitches

        let connection = try RawHTTPConnection(url: address)
        let body = #"{"op":"put","table":"bench","key":"k1","value":{"v":"\#(String(repeating: "x", count: 100))"}}"#
        // Both requests in one write: each must be parsed whole, in turn, and the connection kept open.
        try connection.send(RawHTTPConnection.request("POST", "/v1/events", body: body) + RawHTTPConnection.request("POST", "/v1/events", body: body))
        for _ in 0..<2 {
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"id":"floor-000000","ok":true,"position":"0:1"}"#)
        }
        if let handoffThread {
            // The thread went back to waiting after handing each request over: it was used.
            let before = try #require(switchesBefore)
            let after = try #require(handoffThread.voluntarySwitches)
            #expect(after > before, "the handoff thread never woke for the requests")
        }
    }
}
