import EddyModel

/// What handling one event produced: its outcome (stored in the log) and, for reads, the
/// answer to send back.
struct Handled {
    var outcome: Outcome
    var answer: Answer?
}

/// What a read returns.
enum Answer: Equatable {
    /// A get: the document's canonical JSON, or nil when the key is absent.
    case document([UInt8]?)
    /// One partition's part of a scan, in key order.
    case items([(key: String, value: [UInt8])], more: Bool)

    static func == (lhs: Answer, rhs: Answer) -> Bool {
        switch (lhs, rhs) {
        case let (.document(a), .document(b)): a == b
        case let (.items(a, moreA), .items(b, moreB)):
            moreA == moreB && a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// `[{"key":…,"value":…},…]`, with the stored JSON of each value spliced in as is.
    static func writeItems(_ items: [(key: String, value: [UInt8])], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"key":"#.utf8)
            JSON.writeString(item.key, into: &out)
            out.append(contentsOf: #","value":"#.utf8)
            out.append(contentsOf: item.value)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    /// The canonical bytes the read record's digest covers.
    var canonicalBytes: [UInt8] {
        switch self {
        case .document(let value):
            return value ?? Array("null".utf8)
        case .items(let items, let more):
            var out: [UInt8] = Array(#"{"items":"#.utf8)
            Self.writeItems(items, into: &out)
            out.append(contentsOf: #","more":"#.utf8)
            out.append(contentsOf: (more ? "true" : "false").utf8)
            out.append(UInt8(ascii: "}"))
            return out
        }
    }
}

/// One kind of event's logic: a pure function of the event and the partition's state.
///
/// Pure so that replaying the log (recovery, audit) derives exactly what the live server did.
/// It never writes; the operator stages the returned changes.
protocol Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled
}

extension Operation {
    /// Parses a stored document; the state family only holds canonical JSON the engine wrote,
    /// so a failure here means damaged state.
    static func document(_ stored: StoredValue, _ event: Event, partition: Int) throws -> JSON {
        do {
            return try JSON(parsing: stored.json, maxDepth: 64)
        } catch {
            throw DamagedState(partition: partition, table: event.table, key: event.key ?? "")
        }
    }

    static func rejected(_ code: EddyError.Code, _ message: String) -> Handled {
        Handled(outcome: .rejected(EddyError(code, message)), answer: nil)
    }

    static func applied(_ event: Event, _ value: [UInt8]?) -> Handled {
        Handled(outcome: .applied([Change(table: event.table, key: event.key!, value: value)]), answer: nil)
    }
}
