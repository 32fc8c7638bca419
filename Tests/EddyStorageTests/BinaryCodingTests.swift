import EddyStorage
import Testing

@Suite("BinaryWriter and BinaryReader")
struct BinaryCodingTests {
    @Test func writeThenRead_everyType_roundTrips() throws {
        var writer = BinaryWriter()
        writer.write(UInt8(0xAB))
        writer.write(UInt16(0xBEEF))
        writer.write(UInt32(0xDEAD_BEEF))
        writer.write(UInt64(0x0123_4567_89AB_CDEF))
        writer.writeRaw([9, 8, 7])
        writer.writeBlob([1, 2, 3, 4])
        writer.writeBlob([UInt8]())
        writer.writeString("héllo, 世界")
        writer.writeString("")
        writer.writeRaw([0xFF, 0xFE])

        var reader = BinaryReader(writer.bytes)
        #expect(try reader.readUInt8() == 0xAB)
        #expect(try reader.readUInt16() == 0xBEEF)
        #expect(try reader.readUInt32() == 0xDEAD_BEEF)
        #expect(try reader.readUInt64() == 0x0123_4567_89AB_CDEF)
        #expect(Array(try reader.readRaw(count: 3)) == [9, 8, 7])
        #expect(Array(try reader.readBlob()) == [1, 2, 3, 4])
        #expect(try reader.readBlob().isEmpty)
        #expect(try reader.readString() == "héllo, 世界")
        #expect(try reader.readString() == "")
        #expect(!reader.isAtEnd)
        #expect(reader.remaining == 2)
        #expect(Array(reader.readRest()) == [0xFF, 0xFE])
        #expect(reader.isAtEnd)
        #expect(reader.remaining == 0)
        #expect(reader.readRest().isEmpty)
    }

    @Test(arguments: [(UInt64(0), 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (0xFFFF_FFFF, 5), (UInt64.max, 10)])
    func varint_roundTrips_inTheFewestBytes(value: UInt64, size: Int) throws {
        var writer = BinaryWriter()
        writer.writeVarint(value)
        writer.writeShortString("ok")
        #expect(writer.bytes.count == size + 3)
        var reader = BinaryReader(writer.bytes)
        #expect(try reader.readVarint() == value)
        #expect(try reader.readShortString() == "ok")
        #expect(reader.isAtEnd)
    }

    @Test func varint_damaged_throwsInsteadOfTrapping() {
        // Eleven continuation bytes: more than 64 bits.
        var tooLong = BinaryReader([UInt8](repeating: 0xFF, count: 11))
        #expect(throws: BinaryReader.Truncated.self) { try tooLong.readVarint() }
        // Cut off mid-varint.
        var cut = BinaryReader([0x80, 0x80])
        #expect(throws: BinaryReader.Truncated.self) { try cut.readVarint() }
        // A length longer than what follows.
        var short = BinaryReader([0x05, 0x61])
        #expect(throws: BinaryReader.Truncated.self) { try short.readShortBlob() }
    }

    @Test(arguments: [UInt64.min, 1, 0xFF, 0x100, 0xFFFF_FFFF, 0x1_0000_0000, UInt64.max - 1, UInt64.max])
    func uint64_extremes_roundTrip(value: UInt64) throws {
        var writer = BinaryWriter()
        writer.write(value)
        #expect(writer.bytes.count == 8)
        var reader = BinaryReader(writer.bytes)
        #expect(try reader.readUInt64() == value)
        #expect(reader.isAtEnd)
    }

    @Test func integers_areWrittenBigEndianAtFixedWidth() {
        var writer = BinaryWriter(capacity: 0)
        writer.write(UInt16(0x0102))
        writer.write(UInt32(0x0304_0506))
        writer.write(UInt64(0x0708_090A_0B0C_0D0E))
        writer.write(UInt16(1))
        #expect(writer.bytes == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0, 1])
    }

    @Test func blobAndString_arePrefixedWithBigEndianUInt32Length() {
        var writer = BinaryWriter()
        writer.writeBlob([0xAA, 0xBB])
        writer.writeString("hi")
        #expect(writer.bytes == [0, 0, 0, 2, 0xAA, 0xBB, 0, 0, 0, 2, 0x68, 0x69])
    }

    @Test func reader_startingAtPosition_skipsPrefix() throws {
        var reader = BinaryReader([0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 42], position: 2)
        #expect(reader.position == 2)
        #expect(try reader.readUInt64() == 42)
        #expect(reader.position == 10)
        #expect(reader.isAtEnd)
    }

    @Test func readUInt8_pastEnd_throwsTruncated() {
        var reader = BinaryReader([])
        #expect(throws: BinaryReader.Truncated.self) { try reader.readUInt8() }
    }

    @Test(arguments: 0..<2)
    func readUInt16_shortInput_throwsTruncated(available: Int) {
        var reader = BinaryReader([UInt8](repeating: 1, count: available))
        #expect(throws: BinaryReader.Truncated.self) { try reader.readUInt16() }
    }

    @Test(arguments: 0..<4)
    func readUInt32_shortInput_throwsTruncated(available: Int) {
        var reader = BinaryReader([UInt8](repeating: 1, count: available))
        #expect(throws: BinaryReader.Truncated.self) { try reader.readUInt32() }
    }

    @Test(arguments: 0..<8)
    func readUInt64_shortInput_throwsTruncated(available: Int) {
        var reader = BinaryReader([UInt8](repeating: 1, count: available))
        #expect(throws: BinaryReader.Truncated.self) { try reader.readUInt64() }
    }

    @Test func readRaw_moreThanRemainingOrNegative_throwsTruncatedWithoutMoving() throws {
        var reader = BinaryReader([1, 2, 3])
        #expect(throws: BinaryReader.Truncated.self) { try reader.readRaw(count: 4) }
        #expect(throws: BinaryReader.Truncated.self) { try reader.readRaw(count: -1) }
        #expect(reader.position == 0)
        #expect(Array(try reader.readRaw(count: 3)) == [1, 2, 3])
        #expect(try reader.readRaw(count: 0).isEmpty)
        #expect(throws: BinaryReader.Truncated.self) { try reader.readRaw(count: 1) }
    }

    @Test func readBlob_lengthBeyondData_throwsTruncated() {
        var reader = BinaryReader([0, 0, 0, 5, 1, 2, 3, 4])
        #expect(throws: BinaryReader.Truncated.self) { try reader.readBlob() }
    }

    @Test func readBlob_hugeLength_throwsTruncatedInsteadOfTrapping() {
        var reader = BinaryReader([0xFF, 0xFF, 0xFF, 0xFF, 1])
        #expect(throws: BinaryReader.Truncated.self) { try reader.readBlob() }
    }

    @Test func readString_truncatedLengthPrefix_throwsTruncated() {
        var writer = BinaryWriter()
        writer.writeString("abc")
        var reader = BinaryReader(Array(writer.bytes.prefix(2)))
        #expect(throws: BinaryReader.Truncated.self) { try reader.readString() }
    }

    @Test func truncated_describesItself() {
        var reader = BinaryReader([])
        let error = #expect(throws: BinaryReader.Truncated.self) { try reader.readUInt8() }
        #expect(error?.description == "record is truncated or malformed")
    }

    @Test func encodedUInt64Keys_sortBytewiseInNumericOrder() {
        var values: [UInt64] = [0, 1, 2, 127, 128, 255, 256, 257, 65_535, 65_536, 1 << 31, 1 << 32, (1 << 32) + 1, 1 << 56, UInt64.max]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 { values.append(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63)) }
        let byBytes = values.map(encoded).sorted { $0.lexicographicallyPrecedes($1) }
        let byValue = values.sorted().map(encoded)
        #expect(byBytes == byValue)
    }

    @Test func encodedUInt64Keys_iterateInNumericOrderInRocksDB() throws {
        let values: [UInt64] = [1_000, 2, 256, UInt64.max, 255, 0, 65_536, 1 << 40, 9, 10]
        try withDatabase { db in
            try put(db, "a", values.map { (encoded($0), []) })
            let keys = try scanAll(db, "a").map(\.key)
            let decoded = try keys.map { key -> UInt64 in
                var reader = BinaryReader(key)
                return try reader.readUInt64()
            }
            #expect(decoded == values.sorted())
            // The last key below encoded(1_000) is the numerically preceding value, not a byte-string neighbour.
            #expect(try db.last(db.columnFamily("a"), from: encoded(0), to: encoded(1_000))?.key == encoded(256))
        }
    }
}
