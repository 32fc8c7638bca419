@testable import EddyEngine
import EddyModel
import EddyStorage
import Testing

/// The engine's log record format: what is written reads back the same, and records of the
/// older format, which existing logs still hold, still read.
@Suite struct LogPayloadTests {
    static let get = Event(id: "r1", op: .get, table: "stock", key: "widget")

    static let outcomes: [Outcome] = [
        .applied([Change(table: "stock", key: "widget", value: (["count": 7] as JSON).serialized()), Change(table: "stock", key: "gone", value: nil)]),
        .rejected(EddyError(.conflict, "key 'widget' already exists")),
        // The event's own document (written as one byte), another one, and an absent key.
        .read(ReadRecord(digest: Array(repeating: 0xAB, count: 32), sources: [
            .init(table: "stock", key: "widget", producedAt: 300),
            .init(table: "users", key: "ann", producedAt: 1 << 40),
            .init(table: "stock", key: "nothing", producedAt: 0),
        ], answer: Array("{\"v\":1}".utf8))),
    ]

    @Test(arguments: outcomes)
    func encoded_readsBackTheSame(outcome: Outcome) throws {
        let payload = LogPayload(epoch: 70_000, timestampMs: 1_790_000_000_000, event: Self.get, outcome: outcome)
        #expect(try LogPayload(decoding: payload.encoded()) == payload)
    }

    /// Format 1, as the first releases wrote it: fixed-width numbers, every source spelled out.
    static func formatOne(_ payload: LogPayload) -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(UInt8(1))
        writer.write(payload.epoch)
        writer.write(payload.timestampMs)
        writer.writeBlob(payload.event.json.serialized())
        guard case .read(let record) = payload.outcome else { preconditionFailure("reads only") }
        writer.write(UInt8(2))
        writer.writeRaw(record.digest)
        writer.write(UInt32(record.sources.count))
        for source in record.sources {
            writer.writeString(source.table)
            writer.writeString(source.key)
            writer.write(source.producedAt)
        }
        writer.write(UInt8(0))
        return writer.bytes
    }

    @Test func formatOneRecords_stillRead() throws {
        let payload = LogPayload(epoch: 3, timestampMs: 1_790_000_000_000, event: Self.get, outcome: .read(ReadRecord(
            digest: Array(repeating: 1, count: 32), sources: [.init(table: "stock", key: "widget", producedAt: 12)], answer: nil
        )))
        #expect(try LogPayload(decoding: Self.formatOne(payload)) == payload)
        // The read pruner peeks at the age of both formats without decoding them.
        #expect(LogPayload.timestampMs(peekingInto: Self.formatOne(payload)) == 1_790_000_000_000)
        #expect(LogPayload.timestampMs(peekingInto: payload.encoded()) == 1_790_000_000_000)
        #expect(payload.encoded().count < Self.formatOne(payload).count - 25, "format 2 should be clearly smaller")
    }

    @Test func damagedRecords_throwInsteadOfTrapping() {
        let good = LogPayload(epoch: 1, timestampMs: 5, event: Self.get, outcome: Self.outcomes[2]).encoded()
        #expect(throws: LogPayload.Damaged.self) { try LogPayload(decoding: [9] + good.dropFirst()) }
        for cut in [1, 3, good.count / 2, good.count - 1] {
            #expect(throws: LogPayload.Damaged.self) { try LogPayload(decoding: Array(good.prefix(cut))) }
        }
        #expect(throws: LogPayload.Damaged.self) { try LogPayload(decoding: good + [0]) }
    }
}
