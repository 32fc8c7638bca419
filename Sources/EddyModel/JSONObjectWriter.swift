import EddyModel

/// Builds a result object's bytes field by field, splicing stored JSON in without reparsing.
///
/// Callers add fields in alphabetical order, which is the canonical order: a result rebuilt
/// later from the log (a retry) is the same bytes as the first one.
struct ResultWriter {
    private(set) var bytes: [UInt8]
    private var first = true

    init(capacity: Int = 96) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func name(_ name: StaticString) {
        bytes.append(first ? UInt8(ascii: "\"") : UInt8(ascii: ","))
        if !first { bytes.append(UInt8(ascii: "\"")) }
        first = false
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func string(_ field: StaticString, _ value: String) {
        name(field)
        JSON.writeString(value, into: &bytes)
    }

    mutating func bool(_ field: StaticString, _ value: Bool) {
        name(field)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Already-serialized JSON, spliced verbatim.
    mutating func raw(_ field: StaticString, _ json: [UInt8]) {
        name(field)
        bytes.append(contentsOf: json)
    }

    mutating func error(_ error: EddyError) {
        name("error")
        error.json.serialize(into: &bytes)
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
