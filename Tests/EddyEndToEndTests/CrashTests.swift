import EddyClient
import EddyModel
import EddyTestSupport
import Foundation
import Synchronization
import Testing

/// The server is killed with `kill -9` while clients send `incr` events with unique IDs.
/// After a restart every event is re-sent with its ID, as retrying clients would. Nothing
/// acknowledged may be lost, and nothing may take effect twice.
@Suite(.serialized) struct CrashTests {
    static let clients = 8
    static let eventsPerClient = 1500
    static let keys = 24

    /// Results the server acknowledged, by event ID, written from many client tasks.
    final class Acknowledged: Sendable {
        private let results = Mutex<[String: [UInt8]]>([:])
        func record(_ id: String, _ body: [UInt8]) { results.withLock { $0[id] = body } }
        var all: [String: [UInt8]] { results.withLock { $0 } }
        var count: Int { results.withLock { $0.count } }
    }

    struct PlannedEvent: Sendable {
        var id: String
        var key: String
        var json: JSON
    }

    static func plan(round: Int) -> [[PlannedEvent]] {
        (0..<clients).map { client in
            (0..<eventsPerClient).map { n in
                let key = "r\(round)-k\((client * 7 + n) % keys)"
                let id = "r\(round)-c\(client)-e\(n)"
                return PlannedEvent(id: id, key: key, json: ["id": .string(id), "op": "incr", "table": "counters", "key": .string(key), "field": "n", "by": 1])
            }
        }
    }

    @Test(arguments: [0.25, 0.6, 1.2])
    func incrUnderLoad_killedAndRetried_appliesEveryEventExactlyOnce(killAfterSeconds: Double) async throws {
        let server = try ServerProcess()
        try await server.start()
        defer { server.stop() }
        let round = Int(killAfterSeconds * 100)
        let plan = Self.plan(round: round)
        let acknowledged = Acknowledged()

        // Load: each client sends its events one at a time until the server dies.
        let url = server.url
        try await withThrowingTaskGroup(of: Void.self) { group in
            for events in plan {
                group.addTask {
                    let client = try EddyClient(url: url)
                    for event in events {
                        guard let (status, result) = try? await client.send(event.json) else { return }
                        if status == 200, result["ok"] == true {
                            acknowledged.record(event.id, result.serialized())
                        }
                    }
                    await client.close()
                }
            }
            group.addTask {
                // Measured from the first acknowledgements, so a slow start on a busy machine
                // still leaves the kill mid-load.
                let patience = ContinuousClock.now + .seconds(30)
                while acknowledged.count < 20 && ContinuousClock.now < patience { try await Task.sleep(for: .milliseconds(5)) }
                try await Task.sleep(for: .milliseconds(Int(killAfterSeconds * 1000)))
                server.kill9()
            }
            try await group.waitForAll()
        }
        let acked = acknowledged.all
        let total = plan.reduce(0) { $0 + $1.count }
        #expect(!acked.isEmpty, "some events should be acknowledged before the kill")
        #expect(acked.count < total, "the kill should land mid-load (\(acked.count) of \(total) acknowledged)")

        // Restart and retry everything, acknowledged or not, with the same IDs.
        try await server.start()
        let client = try server.client()
        let all = plan.flatMap { $0 }
        var lostOrChanged: [String] = []
        for chunk in stride(from: 0, to: all.count, by: 200).map({ Array(all[$0..<min($0 + 200, all.count)]) }) {
            let results = try await client.send(batch: chunk.map(\.json))
            #expect(results.count == chunk.count)
            for (event, result) in zip(chunk, results) {
                #expect(result["ok"] == true, "retry of \(event.id) failed: \(result.serializedString)")
                if let first = acked[event.id], first != result.serialized() {
                    lostOrChanged.append(event.id)
                }
            }
        }
        #expect(lostOrChanged.count == 0, "acknowledged events lost or applied again, e.g. \(lostOrChanged.prefix(5))")

        // Every counter equals the number of distinct events for its key.
        var expected: [String: Int] = [:]
        for event in all { expected[event.key, default: 0] += 1 }
        for (key, count) in expected {
            let get = try await client.get("counters", key)
            #expect(get["value"]?["n"]?.numberValue == Double(count), "counter \(key)")
        }
        await client.close()
    }
}
