import EddyStorage
import Foundation
import Synchronization
import Testing

@Suite("Database: checkpoints")
struct CheckpointTests {
    @Test func checkpoint_holdsEveryWriteBeforeIt_andNoneAfter_andIsIndependent() throws {
        try withTemporaryDirectory { directory in
            let db = try openDatabase(in: directory)
            defer { db.close() }
            try put(db, "a", [(b("flushed"), b("1"))])
            try db.flush()
            try put(db, "a", [(b("in-memtable"), b("2"))])
            let unsynced = WriteBatch()
            unsynced.put(db.columnFamily("b"), key: b("unsynced"), value: b("3"))
            try db.write(unsynced, sync: false)

            try db.checkpoint(to: directory + "/copy")
            try put(db, "a", [(b("after"), b("4"))])

            let copy = try Database(path: directory + "/copy", columnFamilies: testFamilies, options: testStorageOptions())
            defer { copy.close() }
            #expect(try scanAll(copy, "a").map(\.key) == [b("flushed"), b("in-memtable")])
            #expect(try copy.get(copy.columnFamily("b"), key: b("unsynced")) == b("3"))
            // Writing to the copy leaves the original alone, though they share SST files.
            try put(copy, "a", [(b("flushed"), b("changed"))])
            #expect(try db.get(db.columnFamily("a"), key: b("flushed")) == b("1"))
            #expect(try db.get(db.columnFamily("a"), key: b("after")) == b("4"))
        }
    }

    @Test func checkpoint_intoAnExistingDirectory_fails() throws {
        try withTemporaryDirectory { directory in
            let db = try openDatabase(in: directory)
            defer { db.close() }
            try FileManager.default.createDirectory(atPath: directory + "/taken", withIntermediateDirectories: true)
            #expect(throws: StorageError.self) { try db.checkpoint(to: directory + "/taken") }
        }
    }

    /// Each batch writes the same key to both families; a checkpoint taken while batches keep
    /// coming must hold every batch whole or not at all, in both families alike.
    @Test func checkpoint_underConcurrentBatches_holdsWholeBatchesInEveryFamily() throws {
        try withTemporaryDirectory { directory in
            let db = try openDatabase(in: directory)
            defer { db.close() }
            let progress = WriterProgress()
            let done = DispatchSemaphore(value: 0)
            let writer = Thread {
                var index = 0
                while !progress.stop.load(ordering: .relaxed) {
                    let batch = WriteBatch()
                    batch.put(db.columnFamily("a"), key: encoded(UInt64(index)), value: b("a"))
                    batch.put(db.columnFamily("b"), key: encoded(UInt64(index)), value: b("b"))
                    try! db.write(batch, sync: false)
                    index += 1
                    progress.written.store(index, ordering: .relaxed)
                }
                done.signal()
            }
            writer.start()
            while progress.written.load(ordering: .relaxed) < 2000 { Thread.sleep(forTimeInterval: 0.001) }
            try db.checkpoint(to: directory + "/copy")
            progress.stop.store(true, ordering: .relaxed)
            done.wait()

            let copy = try Database(path: directory + "/copy", columnFamilies: testFamilies, options: testStorageOptions())
            defer { copy.close() }
            let inA = try scanAll(copy, "a").map(\.key)
            let inB = try scanAll(copy, "b").map(\.key)
            #expect(inA.count >= 2000)
            #expect(inA == inB)
            #expect(inA == (0..<inA.count).map { encoded(UInt64($0)) })
        }
    }
}

private final class WriterProgress: Sendable {
    let stop = Atomic<Bool>(false)
    let written = Atomic<Int>(0)
}
