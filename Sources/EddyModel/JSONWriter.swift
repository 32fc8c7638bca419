extension JSON {
    /// Canonical serialization: object keys sorted by their UTF-8 bytes, no whitespace, so equal values always give equal bytes.
    ///
    /// Integral numbers with |x| < 2^53 print as integers (`-0.0` prints `0`); other finite
    /// numbers print as Swift's shortest round-trip form (`0.1`, `1e+20`). JSON cannot represent
    /// NaN or infinity; they can only come from values built in code, and are written as `null`
    /// so the output is always valid JSON.
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(128)
        serialize(into: &buffer)
        return buffer
    }

    /// Appends the canonical serialization to `buffer`.
    public func serialize(into buffer: inout [UInt8]) {
        switch self {
        case .null:
            buffer.append(contentsOf: "null".utf8)
        case .bool(let value):
            buffer.append(contentsOf: value ? "true".utf8 : "false".utf8)
        case .number(let value):
            JSON.writeNumber(value, into: &buffer)
        case .string(let value):
            JSON.writeString(value, into: &buffer)
        case .array(let elements):
            buffer.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                element.serialize(into: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .object(let members):
            buffer.append(UInt8(ascii: "{"))
            // Byte order, not `String.<` (which follows Unicode canonical ordering and could
            // differ between platforms or normalization forms).
            let sorted = members.count < 2 ? Array(members) : members.sorted { utf8Precedes($0.key, $1.key) }
            var first = true
            for (key, value) in sorted {
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                JSON.writeString(key, into: &buffer)
                buffer.append(UInt8(ascii: ":"))
                value.serialize(into: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
        }
    }

    /// The canonical serialization as a String (for logs, tests and text APIs).
    public var serializedString: String {
        String(decoding: serialized(), as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal, quotes included, escaped exactly as `serialize` does:
    /// `"` and `\` and control characters (< 0x20) are escaped; everything else, including `/` and
    /// non-ASCII, is raw UTF-8.
    public static func writeString(_ s: String, into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        // `withUTF8` needs a mutable String; copying one only retains its storage.
        var s = s
        s.withUTF8 { utf8 in
            // Copy unescaped runs in bulk; escapes are rare in practice.
            var runStart = 0
            for i in utf8.indices {
                let byte = utf8[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if i > runStart { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                appendEscape(for: byte, into: &buffer)
                runStart = i + 1
            }
            if utf8.count > runStart {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(for byte: UInt8, into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
        case 0x08: buffer.append(UInt8(ascii: "b"))
        case 0x0C: buffer.append(UInt8(ascii: "f"))
        case 0x0A: buffer.append(UInt8(ascii: "n"))
        case 0x0D: buffer.append(UInt8(ascii: "r"))
        case 0x09: buffer.append(UInt8(ascii: "t"))
        default:
            // Remaining control characters as \u00xx, lowercase hex like JavaScript's JSON.stringify.
            // Only bytes below 0x20 get here, so the high nibble is 0 or 1.
            let low = byte & 0x0F
            buffer.append(contentsOf: "u00".utf8)
            buffer.append(UInt8(ascii: "0") &+ (byte >> 4))
            buffer.append(low < 10 ? UInt8(ascii: "0") &+ low : UInt8(ascii: "a") &+ (low &- 10))
        }
    }

    private static func writeNumber(_ value: Double, into buffer: inout [UInt8]) {
        guard value.isFinite else {
            buffer.append(contentsOf: "null".utf8)
            return
        }
        // Below 2^53 every integral Double is an exact Int64, so this is lossless; it also
        // folds -0.0 into "0".
        if value.magnitude < 9_007_199_254_740_992.0 && value.rounded(.towardZero) == value {
            writeInteger(Int64(value), into: &buffer)
        } else {
            // Shortest representation that round-trips; always valid JSON for finite values
            // ("1e+20", "1.5e-07", "9007199254740992.0").
            buffer.append(contentsOf: value.description.utf8)
        }
    }

    private static func writeInteger(_ value: Int64, into buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        // Emit digits least significant first, then reverse them in place: no String allocated.
        var remaining = value.magnitude
        let start = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10))
            remaining /= 10
        } while remaining != 0
        buffer[start...].reverse()
    }
}

extension JSON: CustomStringConvertible {
    /// The canonical serialization, so values print readably in logs and test failures.
    public var description: String { serializedString }
}

/// True when `a`'s UTF-8 bytes sort before `b`'s (plain unsigned byte comparison).
private func utf8Precedes(_ a: String, _ b: String) -> Bool {
    let contiguous = a.utf8.withContiguousStorageIfAvailable { lhs in
        b.utf8.withContiguousStorageIfAvailable { rhs in
            let common = min(lhs.count, rhs.count)
            for i in 0..<common where lhs[i] != rhs[i] {
                return lhs[i] < rhs[i]
            }
            return lhs.count < rhs.count
        }
    }
    if let contiguous, let result = contiguous { return result }
    return a.utf8.lexicographicallyPrecedes(b.utf8)
}
