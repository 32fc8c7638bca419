import EddyModel

/// What a read returns.
enum Answer {
    /// A get: the document's canonical JSON, or nil when the key is absent.
    case document([UInt8]?)
    /// One partition's part of a scan, in key order.
    case items([(key: String, value: [UInt8])], more: Bool)

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
