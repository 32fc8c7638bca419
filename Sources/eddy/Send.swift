import ArgumentParser
import EddyClient
import EddyModel
import Foundation

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send newline-delimited JSON events from a file or stdin.",
        discussion: "Prints one result line per event, in order. A result line with \"ok\":true means the event was acknowledged. Exits non-zero if any event failed."
    )
    @OptionGroup var options: ClientOptions
    @Argument(help: "File of events, one JSON object per line. Reads stdin when absent.") var file: String?
    @Option(name: .customLong("batch-size"), help: "Events per request (at most the server's batch limit).") var batchSize: Int = 256

    func run() async throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        let handle: FileHandle
        if let file {
            guard let opened = FileHandle(forReadingAtPath: file) else { throw Output.fail("cannot open \(file)") }
            handle = opened
        } else {
            handle = .standardInput
        }
        let client = try options.client()
        var failures = 0
        var pending: [JSON?] = []  // nil marks a line that did not parse; its error is printed in order
        var lineErrors: [Int: JSON] = [:]

        func flush() async throws {
            guard !pending.isEmpty else { return }
            let events = pending.compactMap { $0 }
            var results: [JSON] = []
            if !events.isEmpty {
                do {
                    results = try await client.send(batch: events)
                } catch {
                    throw Output.fail("cannot reach the server: \(error)")
                }
            }
            var next = results.makeIterator()
            for (index, event) in pending.enumerated() {
                let result = event == nil ? lineErrors[index]! : (next.next() ?? .null)
                if result["ok"]?.boolValue != true { failures += 1 }
                Output.line(result)
            }
            pending.removeAll()
            lineErrors.removeAll()
        }

        var reader = LineReader(handle: handle)
        while let line = reader.next() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { continue }
            do {
                pending.append(try JSON(parsing: line))
            } catch {
                lineErrors[pending.count] = EventResultLine.failure(EddyError(error))
                pending.append(nil)
            }
            if pending.count >= batchSize { try await flush() }
        }
        try await flush()
        await client.close()
        if failures > 0 { throw Output.fail("\(failures) event(s) failed") }
    }
}

enum EventResultLine {
    static func failure(_ error: EddyError) -> JSON {
        ["error": error.json, "ok": false]
    }
}

/// Splits a file into lines, reading 64 KiB at a time so large inputs stream.
struct LineReader {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false

    init(handle: FileHandle) {
        self.handle = handle
    }

    mutating func next() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                defer { start = newline + 1 }
                return Array(buffer[start..<newline])
            }
            if finished {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return Array(buffer[start...])
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.readData(ofLength: 64 << 10)
            if chunk.isEmpty { finished = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
