import EddyClient
import EddyModel
import EddyStorage
import EddyTestSupport
import Foundation
import Testing

/// Damaged state files, in a copy of a stopped server's data directory: the audit fails and
/// says what it found, the server never serves a wrong document, and an undamaged copy of
/// the same directory audits clean.
@Suite(.serialized) struct CorruptionTests {
    static let documents = 400

    static func value(_ n: Int) -> JSON { ["n": .number(Double(n)), "text": .string(String(repeating: "eddy-\(n)-", count: 20))] }

    @Test func flippedBytesInStateFiles_areDetected_andNeverServed() async throws {
        let original = try ServerProcess()
        try await original.start()
        let client = try original.client()
        for batch in stride(from: 0, to: Self.documents, by: 100) {
            let events: [JSON] = (batch..<batch + 100).map { ["op": "put", "table": "users", "key": .string("u\($0)"), "value": Self.value($0)] }
            for result in try await client.send(batch: events) { #expect(result["ok"] == true) }
        }
        await client.close()
        original.stop()  // a clean stop flushes everything into checksummed SST files

        let scratch = try TemporaryDirectory.make(prefix: "eddy-corruption")

        defer { try? FileManager.default.removeItem(atPath: scratch) }
        defer { withExtendedLifetime(original) {} }  // its temp directory holds the data copied below
        let clean = scratch + "/clean", damaged = scratch + "/damaged"
        try FileManager.default.copyItem(atPath: original.dataDirectory, toPath: clean)
        try FileManager.default.copyItem(atPath: original.dataDirectory, toPath: damaged)
        // The state family's files only: the log's own damage is caught by its hash chain
        // (EmbeddedLog tests); here the question is whether damaged documents are served.
        let tables: [String] = try {
            let database = try Database(path: damaged, columnFamilies: ["log", "state", "ids", "meta", "reads", "outbox", "base"])
            defer { database.close() }
            return database.liveFiles().filter { $0.columnFamily == "state" }.map(\.name)
        }()
        #expect(!tables.isEmpty, "no state SST files: the stop did not flush")
        for name in tables {
            // One byte in the data blocks (the first part of an SST file), not the footer.
            let path = damaged + "/" + name
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 4] ^= 0x5A
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }

        let cleanAudit = try await CLI.run(["audit", "--data-dir", clean])
        #expect(cleanAudit.status == 0, "an undamaged copy must audit clean: \(cleanAudit.stdout.suffix(400))")
        let damagedAudit = try await CLI.run(["audit", "--data-dir", damaged])
        #expect(damagedAudit.status != 0, "the audit missed the damage")
        #expect((damagedAudit.stdout + damagedAudit.stderr).lowercased().contains("corrupt"), "the audit should say what it found: \(damagedAudit.stdout.suffix(400)) \(damagedAudit.stderr.suffix(400))")

        // The server on the damaged copy: every answer is the right document or an error.
        let server = try ServerProcess(dataDirectory: damaged)
        do {
            try await server.start()
        } catch {
            Issue.record("damaged documents should stop their partition, not the server: \(error)")
            return
        }
        defer { server.stop() }
        let reader = try server.client()
        var served = 0, refused = 0
        for n in 0..<Self.documents {
            let (status, result) = try await reader.send(["op": "get", "table": "users", "key": .string("u\(n)")])
            if status == 200 {
                #expect(result["value"] == Self.value(n), "u\(n) was served wrong: \(result.serializedString.prefix(200))")
                served += 1
            } else {
                #expect(result["error"]?["code"] == "partition_unavailable", "u\(n): \(result.serializedString.prefix(200))")
                refused += 1
            }
        }
        #expect(refused > 0, "no read hit the damage (served \(served)); the test showed nothing")
        let health = try await reader.health()
        #expect(health.status == 503)
        #expect(health.body["status"] == "degraded")
        await reader.close()
    }
}
