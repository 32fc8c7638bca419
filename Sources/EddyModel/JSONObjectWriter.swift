/// Builds a JSON object's canonical bytes field by field, splicing already-serialized JSON in
/// without reparsing it.
///
/// Callers add fields in the byte order of their names, which is the canonical order: the
/// bytes equal those of `JSON.serialized()` for the same object. That is what lets a result
/// rebuilt later from the log (a retry) be the same bytes as the first one, and an event be
/// written to the log without first being built as a dictionary.
public struct JSONObjectWriter {
    public private(set) var bytes: [UInt8]
    private var first = true

    public init(capacity: Int = 96) {
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

    public mutating func string(_ field: StaticString, _ value: String) {
        name(field)
        JSON.writeString(value, into: &bytes)
    }

    public mutating func bool(_ field: StaticString, _ value: Bool) {
        name(field)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func number(_ field: StaticString, _ value: Double) {
        name(field)
        JSON.number(value).serialize(into: &bytes)
    }

    public mutating func json(_ field: StaticString, _ value: JSON) {
        name(field)
        value.serialize(into: &bytes)
    }

    /// Already-serialized JSON, spliced verbatim.
    public mutating func raw(_ field: StaticString, _ json: [UInt8]) {
        name(field)
        bytes.append(contentsOf: json)
    }

    public mutating func error(_ error: EddyError) {
        json("error", error.json)
    }

    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
