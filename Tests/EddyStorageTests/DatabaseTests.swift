import EddyStorage
import Foundation
import Testing

@Suite("Database: open, batches, point reads")
struct DatabaseBasicsTests {
    @Test func open_withColumnFamilies_putGetDeleteThroughBatch() throws {
        try withDatabase { db in
            let a = db.columnFamily("a")
            #expect(a.name == "a")
            #expect(try db.get(a, key: b("k")) == nil)

            let put = WriteBatch()
            put.put(a, key: b("k"), value: b("v1"))
            #expect(put.count == 1)
            try db.write(put, sync: true)
            #expect(try db.get(a, key: b("k")) == b("v1"))

            let overwrite = WriteBatch()
            overwrite.put(a, key: b("k"), value: b("v2"))
            try db.write(overwrite, sync: false)
            #expect(try db.get(a, key: b("k")) == b("v2"))

            let delete = WriteBatch()
            delete.delete(a, key: b("k"))
            try db.write(delete, sync: true)
            #expect(try db.get(a, key: b("k")) == nil)
        }
    }

    @Test func liveFiles_afterFlush_nameEachFileAndItsColumnFamily() throws {
        try withDatabase { db in
            #expect(db.liveFiles().isEmpty)
            let batch = WriteBatch()
            batch.put(db.columnFamily("a"), key: b("k"), value: b("v"))
            batch.put(db.columnFamily("b"), key: b("k"), value: b("v"))
            try db.write(batch, sync: true)
            try db.flush()
            let files = db.liveFiles()
            #expect(Set(files.map(\.columnFamily)) == ["a", "b"])
            #expect(files.allSatisfy { $0.name.hasSuffix(".sst") })
        }
    }

    @Test func get_emptyValue_returnsEmptyArrayNotNil() throws {
        try withDatabase { db in
            try put(db, "a", [(b("empty"), [])])
            #expect(try db.get(db.columnFamily("a"), key: b("empty")) == [])
            #expect(try db.get(db.columnFamily("a"), key: b("absent")) == nil)
        }
    }

    @Test func get_acceptsSliceAndRawBufferKeys() throws {
        try withDatabase { db in
            let a = db.columnFamily("a")
            try put(db, "a", [(b("key"), b("value"))])
            let padded = b("xkeyx")
            #expect(try db.get(a, key: padded[1..<4]) == b("value"))
            let viaBuffer = try b("key").withUnsafeBytes { try db.get(a, key: $0) }
            #expect(viaBuffer == b("value"))
        }
    }

    @Test func columnFamilies_sameKey_holdSeparateValues() throws {
        try withDatabase { db in
            try put(db, "a", [(b("k"), b("in a"))])
            try put(db, "b", [(b("k"), b("in b"))])
            #expect(try db.get(db.columnFamily("a"), key: b("k")) == b("in a"))
            #expect(try db.get(db.columnFamily("b"), key: b("k")) == b("in b"))
            #expect(try db.get(db.columnFamily("default"), key: b("k")) == nil)
        }
    }

    @Test func batch_acrossFamilies_appliesAllOrNothing() throws {
        try withDatabase { db in
            let a = db.columnFamily("a")
            let bFamily = db.columnFamily("b")
            try put(db, "b", [(b("old"), b("x"))])

            let batch = WriteBatch()
            batch.put(a, key: b("1"), value: b("one"))
            batch.put(bFamily, key: b("2"), value: b("two"))
            batch.delete(bFamily, key: b("old"))
            #expect(batch.count == 3)

            // Built but not written: nothing is visible yet.
            #expect(try db.get(a, key: b("1")) == nil)
            #expect(try db.get(bFamily, key: b("2")) == nil)
            #expect(try db.get(bFamily, key: b("old")) == b("x"))

            // A snapshot taken before the write sees none of it, the database afterwards all of it.
            try db.withSnapshot { before in
                try db.write(batch, sync: true)
                #expect(try db.get(a, key: b("1"), snapshot: before) == nil)
                #expect(try db.get(bFamily, key: b("2"), snapshot: before) == nil)
                #expect(try db.get(bFamily, key: b("old"), snapshot: before) == b("x"))
            }
            #expect(try db.get(a, key: b("1")) == b("one"))
            #expect(try db.get(bFamily, key: b("2")) == b("two"))
            #expect(try db.get(bFamily, key: b("old")) == nil)
        }
    }

    @Test func batch_clear_dropsOperationsAndCanBeReused() throws {
        try withDatabase { db in
            let a = db.columnFamily("a")
            let batch = WriteBatch()
            batch.put(a, key: b("dropped"), value: b("x"))
            batch.clear()
            #expect(batch.count == 0)
            batch.put(a, key: b("kept"), value: b("y"))
            try db.write(batch, sync: true)
            #expect(try db.get(a, key: b("dropped")) == nil)
            #expect(try db.get(a, key: b("kept")) == b("y"))
        }
    }

    @Test func batch_laterOperationOnSameKeyWins() throws {
        try withDatabase { db in
            let a = db.columnFamily("a")
            let batch = WriteBatch()
            batch.put(a, key: b("k"), value: b("first"))
            batch.put(a, key: b("k"), value: b("second"))
            batch.put(a, key: b("gone"), value: b("x"))
            batch.delete(a, key: b("gone"))
            try db.write(batch, sync: true)
            #expect(try db.get(a, key: b("k")) == b("second"))
            #expect(try db.get(a, key: b("gone")) == nil)
        }
    }

    @Test func deleteRange_removesHalfOpenRangeOnlyInItsFamily() throws {
        try withDatabase { db in
            let keys = (UInt64(1)...6).map(encoded)
            try put(db, "a", keys.map { ($0, b("a")) })
            try put(db, "b", keys.map { ($0, b("b")) })
            let batch = WriteBatch()
            batch.deleteRange(db.columnFamily("a"), from: encoded(2), to: encoded(5))
            try db.write(batch, sync: true)
            #expect(try scanAll(db, "a").map(\.key) == [encoded(1), encoded(5), encoded(6)])
            #expect(try scanAll(db, "b").map(\.key) == keys)
        }
    }
}

@Suite("Database: scan and last")
struct DatabaseRangeTests {
    @Test func scan_yieldsKeysInByteOrder_fromStartUpToExcludedEnd() throws {
        try withDatabase { db in
            try put(db, "a", [(b("d"), b("4")), (b("a"), b("1")), (b("c"), b("3")), (b("e"), b("5")), (b("b"), b("2"))])
            let found = try scanAll(db, "a", from: b("b"), to: b("e"))
            #expect(found.map(\.key) == [b("b"), b("c"), b("d")])
            #expect(found.map(\.value) == [b("2"), b("3"), b("4")])
        }
    }

    @Test func scan_startBetweenKeys_beginsAtNextKey() throws {
        try withDatabase { db in
            try put(db, "a", [(b("a"), []), (b("c"), []), (b("e"), [])])
            #expect(try scanAll(db, "a", from: b("b"), to: nil).map(\.key) == [b("c"), b("e")])
        }
    }

    @Test func scan_withoutUpperBound_runsToEndOfFamilyOnly() throws {
        try withDatabase { db in
            try put(db, "a", [(b("x"), []), (b("y"), [])])
            try put(db, "b", [(b("z"), [])])
            #expect(try scanAll(db, "a").map(\.key) == [b("x"), b("y")])
            #expect(try scanAll(db, "b").map(\.key) == [b("z")])
        }
    }

    @Test func scan_upperBound_excludesKeysThatExtendTheBound() throws {
        // "ab" sorts after "a", so with end "ab" the key "ab" and its extensions are out, "aa…" is in.
        try withDatabase { db in
            try put(db, "a", [(b("a"), []), (b("aa"), []), (b("aaz"), []), (b("ab"), []), (b("ab\u{0}"), []), (b("b"), [])])
            #expect(try scanAll(db, "a", from: b("a"), to: b("ab")).map(\.key) == [b("a"), b("aa"), b("aaz")])
        }
    }

    @Test func scan_emptyRanges_yieldNothing() throws {
        try withDatabase { db in
            #expect(try scanAll(db, "a").isEmpty)
            try put(db, "a", [(b("m"), [])])
            #expect(try scanAll(db, "a", from: b("n"), to: nil).isEmpty)
            #expect(try scanAll(db, "a", from: b("a"), to: b("m")).isEmpty)
            #expect(try scanAll(db, "a", from: b("m"), to: b("m")).isEmpty)
            // An empty upper bound sorts before every key, so the range is empty, not unbounded.
            #expect(try scanAll(db, "a", from: [], to: []).isEmpty)
        }
    }

    @Test func scan_bodyReturningFalse_stopsEarly() throws {
        try withDatabase { db in
            try put(db, "a", (UInt64(1)...10).map { (encoded($0), []) })
            var seen: [[UInt8]] = []
            try db.scan(db.columnFamily("a"), from: encoded(3), to: nil) { key, _ in
                seen.append(Array(key))
                return seen.count < 2
            }
            #expect(seen == [encoded(3), encoded(4)])
        }
    }

    @Test func scan_bodyThrowing_propagatesErrorAndStops() throws {
        struct Stop: Error {}
        try withDatabase { db in
            try put(db, "a", [(b("1"), []), (b("2"), []), (b("3"), [])])
            var calls = 0
            #expect(throws: Stop.self) {
                try db.scan(db.columnFamily("a"), from: [UInt8](), to: nil) { _, _ in
                    calls += 1
                    if calls == 2 { throw Stop() }
                    return true
                }
            }
            #expect(calls == 2)
        }
    }

    @Test func last_emptyFamily_returnsNil() throws {
        try withDatabase { (db: Database) throws in
            #expect(try db.last(db.columnFamily("a"), from: [], to: [0xFF])?.key == nil)
            #expect(try db.last(db.columnFamily("a"), from: encoded(1), to: encoded(100))?.key == nil)
        }
    }

    @Test func last_rangeWithKeysOnlyOutside_returnsNil() throws {
        try withDatabase { db in
            try put(db, "a", [(b("a"), []), (b("m"), []), (b("z"), [])])
            // Keys below the range, above it, and exactly at its excluded end.
            #expect(try db.last(db.columnFamily("a"), from: b("b"), to: b("m"))?.key == nil)
            #expect(try db.last(db.columnFamily("a"), from: b("n"), to: b("y"))?.key == nil)
            // Another family's keys do not count.
            #expect(try db.last(db.columnFamily("b"), from: b("a"), to: b("zz"))?.key == nil)
        }
    }

    @Test func last_returnsGreatestKeyBelowEndWithItsValue() throws {
        try withDatabase { db in
            try put(db, "a", [(b("a"), b("1")), (b("c"), b("3")), (b("e"), b("5"))])
            let a = db.columnFamily("a")
            let below = try #require(try db.last(a, from: b("a"), to: b("e")))
            #expect(below.key == b("c"))
            #expect(below.value == b("3"))
            let all = try #require(try db.last(a, from: b("a"), to: b("f")))
            #expect(all.key == b("e"))
            #expect(all.value == b("5"))
            // The start is inclusive.
            #expect(try db.last(a, from: b("c"), to: b("d"))?.key == b("c"))
        }
    }

    @Test func last_keysSharingPrefixes_comparesWholeKeys() throws {
        try withDatabase { db in
            let a = db.columnFamily("a")
            try put(db, "a", [
                ([1], b("p")), ([1, 0], b("p0")), ([1, 0xFF], b("pFF")), ([1, 0xFF, 0], b("pFF0")), ([2], b("q")), ([2, 0], b("q0")),
            ])
            // Everything starting with 1: the longest extension of the largest second byte.
            #expect(try db.last(a, from: [1], to: [2])?.key == [1, 0xFF, 0])
            // The end itself is excluded, and so are keys that extend it.
            #expect(try db.last(a, from: [1], to: [1, 0xFF])?.key == [1, 0])
            #expect(try db.last(a, from: [1], to: [1, 0])?.key == [1])
            // A key that is a prefix of the start sorts before it and is out of range.
            #expect(try db.last(a, from: [1, 0, 0], to: [1, 0xFF])?.key == nil)
            // Start exactly at a key that extends the previous one.
            #expect(try db.last(a, from: [2, 0], to: [3])?.key == [2, 0])
        }
    }

    @Test func last_partitionStyleKeys_findsTailOfOnePartitionWithNeighboursPresent() throws {
        func key(_ partition: UInt16, _ offset: UInt64) -> [UInt8] {
            var writer = BinaryWriter()
            writer.write(partition)
            writer.write(offset)
            return writer.bytes
        }
        try withDatabase { db in
            let a = db.columnFamily("a")
            try put(db, "a", [
                (key(0, 7), b("p0")), (key(1, 0), b("anchor")), (key(1, 1), b("first")), (key(1, 255), b("mid")),
                (key(1, 256), b("tail")), (key(2, 0), b("next anchor")), (key(2, 1), b("next")),
            ])
            let tail = try #require(try db.last(a, from: key(1, 1), to: key(2, 0)))
            #expect(tail.key == key(1, 256))
            #expect(tail.value == b("tail"))
            #expect(try db.last(a, from: key(3, 1), to: key(4, 0))?.key == nil)
            #expect(try db.last(a, from: key(0, 1), to: key(1, 0))?.key == key(0, 7))
        }
    }
}

@Suite("Database: snapshots, reopen, properties, locking")
struct DatabaseLifecycleTests {
    @Test func withSnapshot_writesAfterSnapshot_areInvisibleThroughIt() throws {
        try withDatabase { db in
            let a = db.columnFamily("a")
            let bFamily = db.columnFamily("b")
            try put(db, "a", [(b("k"), b("old")), (b("doomed"), b("x"))])
            try db.withSnapshot { snapshot in
                let batch = WriteBatch()
                batch.put(a, key: b("k"), value: b("new"))
                batch.put(a, key: b("added"), value: b("y"))
                batch.delete(a, key: b("doomed"))
                batch.put(bFamily, key: b("other"), value: b("z"))
                try db.write(batch, sync: true)

                #expect(try db.get(a, key: b("k"), snapshot: snapshot) == b("old"))
                #expect(try db.get(a, key: b("added"), snapshot: snapshot) == nil)
                #expect(try db.get(a, key: b("doomed"), snapshot: snapshot) == b("x"))
                #expect(try db.get(bFamily, key: b("other"), snapshot: snapshot) == nil)
                #expect(try scanAll(db, "a", snapshot: snapshot).map(\.key) == [b("doomed"), b("k")])
                #expect(try scanAll(db, "b", snapshot: snapshot).isEmpty)

                // Without the snapshot the new state shows.
                #expect(try db.get(a, key: b("k")) == b("new"))
                #expect(try scanAll(db, "a").map(\.key) == [b("added"), b("k")])
            }
        }
    }

    @Test func withSnapshot_returnsBodyResultAndRethrows() throws {
        struct Boom: Error {}
        try withDatabase { db in
            #expect(db.withSnapshot { _ in 42 } == 42)
            #expect(throws: Boom.self) { try db.withSnapshot { _ in throw Boom() } }
            // The database is still usable after a throwing snapshot body.
            try put(db, "a", [(b("k"), b("v"))])
            #expect(try db.get(db.columnFamily("a"), key: b("k")) == b("v"))
        }
    }

    @Test func reopen_keepsSyncedAndUnsyncedWritesInEveryFamily() throws {
        try withTemporaryDirectory { directory in
            do {
                let db = try openDatabase(in: directory)
                try put(db, "a", [(b("synced"), b("1"))])
                let lazy = WriteBatch()
                lazy.put(db.columnFamily("b"), key: b("lazy"), value: b("2"))
                try db.write(lazy, sync: false)
                db.close()
            }
            let db = try openDatabase(in: directory)
            defer { db.close() }
            #expect(db.path == directory + "/db")
            #expect(try db.get(db.columnFamily("a"), key: b("synced")) == b("1"))
            #expect(try db.get(db.columnFamily("b"), key: b("lazy")) == b("2"))
        }
    }

    @Test func reopen_afterFlush_readsFromTableFiles() throws {
        try withTemporaryDirectory { directory in
            do {
                let db = try openDatabase(in: directory)
                try put(db, "a", (UInt64(1)...100).map { (encoded($0), encoded($0 * 2)) })
                try db.flush()
                #expect(try db.get(db.columnFamily("a"), key: encoded(50)) == encoded(100))
                db.close()
            }
            let db = try openDatabase(in: directory)
            defer { db.close() }
            let all = try scanAll(db, "a")
            #expect(all.count == 100)
            #expect(all.first?.value == encoded(2))
            #expect(all.last?.value == encoded(200))
        }
    }

    @Test func reopen_withoutAnExistingFamily_throwsStorageError() throws {
        try withTemporaryDirectory { directory in
            let db = try openDatabase(in: directory, families: ["a", "b"])
            db.close()
            #expect(throws: StorageError.self) { try openDatabase(in: directory, families: ["a"]) }
        }
    }

    @Test func reopen_withAnAddedFamily_createsIt() throws {
        try withTemporaryDirectory { directory in
            let first = try openDatabase(in: directory, families: ["a"])
            try put(first, "a", [(b("k"), b("v"))])
            first.close()
            let db = try openDatabase(in: directory, families: ["a", "c"])
            defer { db.close() }
            #expect(try db.get(db.columnFamily("a"), key: b("k")) == b("v"))
            #expect(try db.get(db.columnFamily("c"), key: b("k")) == nil)
        }
    }

    @Test func property_estimateNumKeys_returnsANumber() throws {
        try withDatabase { db in
            try put(db, "a", (UInt64(1)...10).map { (encoded($0), []) })
            let whole = try #require(db.property("rocksdb.estimate-num-keys"))
            #expect(UInt64(whole) != nil)
            let ofFamily = try #require(db.property("rocksdb.estimate-num-keys", of: db.columnFamily("a")))
            #expect(UInt64(ofFamily) == 10)
            let ofEmpty = try #require(db.property("rocksdb.estimate-num-keys", of: db.columnFamily("b")))
            #expect(UInt64(ofEmpty) == 0)
        }
    }

    @Test func property_unknownName_returnsNil() throws {
        try withDatabase { db in
            #expect(db.property("rocksdb.no-such-property") == nil)
        }
    }

    @Test func open_samePathTwiceWhileOpen_throwsStorageError() throws {
        try withTemporaryDirectory { directory in
            let first = try openDatabase(in: directory)
            let error = #expect(throws: StorageError.self) { try openDatabase(in: directory) }
            #expect(error?.operation.hasPrefix("open") == true)
            #expect(error?.message.contains("lock") == true || error?.message.contains("LOCK") == true)
            #expect(error?.isCorruption == false)
            // The first handle is unaffected, and once closed the path opens again.
            try put(first, "a", [(b("k"), b("v"))])
            first.close()
            let second = try openDatabase(in: directory)
            defer { second.close() }
            #expect(try second.get(second.columnFamily("a"), key: b("k")) == b("v"))
        }
    }

    @Test func open_pathUnderAFile_throwsStorageError() throws {
        try withTemporaryDirectory { directory in
            let file = directory + "/plain-file"
            #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
            #expect(throws: StorageError.self) {
                try Database(path: file + "/db", columnFamilies: ["a"], options: testStorageOptions())
            }
        }
    }

    @Test func close_calledTwice_isHarmless() throws {
        try withTemporaryDirectory { directory in
            let db = try openDatabase(in: directory)
            db.close()
            db.close()
        }
    }

    @Test func storageError_isCorruption_followsRocksDBMessagePrefix() {
        #expect(StorageError(operation: "get", message: "Corruption: block checksum mismatch").isCorruption)
        #expect(!StorageError(operation: "open", message: "IO error: lock hold by current process").isCorruption)
        #expect(StorageError(operation: "write", message: "IO error: No space").description == "storage write failed: IO error: No space")
    }

    @Test func columnFamily_undeclaredName_stopsTheProcess() async throws {
        let path = NSTemporaryDirectory() + "eddy-storage-tests-exit-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = await #expect(processExitsWith: .failure) { [path = path as String] in
            let db = try Database(path: path, columnFamilies: ["a"])
            _ = db.columnFamily("undeclared")
        }
        // A precondition failure, not a thrown error or a crash.
        #expect(result.map { isTrap($0.exitStatus) } == true)
    }

    @Test func get_afterClose_stopsTheProcess() async throws {
        let path = NSTemporaryDirectory() + "eddy-storage-tests-exit-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = await #expect(processExitsWith: .failure) { [path = path as String] in
            let db = try Database(path: path, columnFamilies: ["a"])
            let family = db.columnFamily("a")
            db.close()
            _ = try db.get(family, key: [1])
        }
        #expect(result.map { isTrap($0.exitStatus) } == true)
    }
}

/// True when a process ended by a Swift trap (SIGILL on x86_64, SIGTRAP on arm64), not by
/// exiting with a code (a thrown error) or by a crash such as SIGSEGV (use after free).
private func isTrap(_ status: ExitStatus) -> Bool {
    if case .signal(let signal) = status { return signal == SIGILL || signal == SIGTRAP }
    return false
}
