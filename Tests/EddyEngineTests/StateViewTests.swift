@testable import EddyEngine
import EddyStorage
import Foundation
import Testing

@Suite struct StateViewTests {
    /// A committed document, deleted by an earlier event of the same group, must read as gone.
    @Test func stagedDelete_ofACommittedKey_hidesItFromGetAndScan() throws {
        let directory = NSTemporaryDirectory() + "eddy-stateview-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try Database(path: directory, columnFamilies: StoreLayout.columnFamilies)
        defer { database.close() }
        let batch = WriteBatch()
        for key in ["a", "b"] {
            batch.put(database.columnFamily(StoreLayout.state), key: StoreLayout.stateKey(partition: 0, table: "t", key: key),
                      value: StoredValue(producedAt: 1, json: Array("1".utf8)).encoded())
        }
        try database.write(batch, sync: false)

        var view = StateView(database: database, partition: 0)
        #expect(try view.get(table: "t", key: "a") != nil)
        view.currentOffset = 2
        view.stage(Change(table: "t", key: "a", value: nil))
        #expect(try view.get(table: "t", key: "a") == nil)
        #expect(try view.scan(table: "t", prefix: "", limit: 10).items.map(\.key) == ["b"])
    }
}
