/// Well-formed UTF-8 per the Unicode Standard, table 3-7: rejects overlongs, UTF-16
/// surrogates encoded in UTF-8, scalars above U+10FFFF and truncated sequences.
enum UTF8Validation {
    /// Length (2...4) of the well-formed multi-byte sequence starting at `offset`, or nil.
    @inline(__always)
    static func sequenceLength(_ base: UnsafeRawPointer, at offset: Int, end: Int) -> Int? {
        @inline(__always) func at(_ i: Int) -> UInt8 { base.load(fromByteOffset: offset + i, as: UInt8.self) }
        @inline(__always) func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        let available = end - offset
        let lead = at(0)
        switch lead {
        case 0xC2...0xDF:
            guard available >= 2, isContinuation(at(1)) else { return nil }
            return 2
        case 0xE0...0xEF:
            guard available >= 3 else { return nil }
            let second = at(1)
            let secondOK: Bool
            switch lead {
            case 0xE0: secondOK = (0xA0...0xBF).contains(second)  // no overlongs
            case 0xED: secondOK = (0x80...0x9F).contains(second)  // no surrogates
            default: secondOK = isContinuation(second)
            }
            guard secondOK, isContinuation(at(2)) else { return nil }
            return 3
        case 0xF0...0xF4:
            guard available >= 4 else { return nil }
            let second = at(1)
            let secondOK: Bool
            switch lead {
            case 0xF0: secondOK = (0x90...0xBF).contains(second)  // no overlongs
            case 0xF4: secondOK = (0x80...0x8F).contains(second)  // nothing above U+10FFFF
            default: secondOK = isContinuation(second)
            }
            guard secondOK, isContinuation(at(2)), isContinuation(at(3)) else { return nil }
            return 4
        default:
            // 0x80...0xC1 (stray continuation or overlong lead) and 0xF5...0xFF.
            return nil
        }
    }

    /// Offset of the first byte that does not start a well-formed sequence, or nil if all is valid.
    static func firstInvalidOffset(_ base: UnsafeRawPointer, count: Int) -> Int? {
        var i = 0
        while i < count {
            if base.load(fromByteOffset: i, as: UInt8.self) < 0x80 {
                i += 1
            } else if let length = sequenceLength(base, at: i, end: count) {
                i += length
            } else {
                return i
            }
        }
        return nil
    }
}
