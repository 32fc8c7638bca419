import Testing
import EddyModel

/// Seeded property tests: failures are reproducible from the seed and case index.
@Suite struct JSONRoundTripPropertyTests {
    @Test func roundTrip_500RandomValues_parseOfSerializedEqualsValueAndBytesAreStable() throws {
        var rng = SplitMix64(seed: 0xEDD7_2024)
        for index in 0..<500 {
            let value = RandomJSON.value(depth: 0, using: &rng)
            let bytes = value.serialized()
            let reparsed = try JSON(parsing: bytes)
            #expect(reparsed == value, "case \(index): \(value)")
            #expect(reparsed.serialized() == bytes, "case \(index): serializing twice differs")
            #expect(value.serialized() == bytes, "case \(index): serialization is not deterministic")
        }
    }
}

/// SplitMix64: tiny, fast, and the same sequence on every platform for a given seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum RandomJSON {
    /// Containers get rarer with depth so values stay small; depth never exceeds 6 (< maxDepth).
    static func value(depth: Int, using rng: inout SplitMix64) -> JSON {
        let containerWeight = depth >= 6 ? 0 : 3
        switch Int.random(in: 0..<(6 + containerWeight * 2), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2, 3: return .number(number(using: &rng))
        case 4, 5: return .string(string(using: &rng))
        case let n where n < 6 + containerWeight:
            let count = Int.random(in: 0...5, using: &rng)
            return .array((0..<count).map { _ in value(depth: depth + 1, using: &rng) })
        default:
            let count = Int.random(in: 0...5, using: &rng)
            var members: [String: JSON] = [:]
            for _ in 0..<count { members[string(using: &rng)] = value(depth: depth + 1, using: &rng) }
            return .object(members)
        }
    }

    static func number(using rng: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return Double(Int.random(in: -1000...1000, using: &rng))
        case 1: return Double(Int.random(in: -(1 << 53)...(1 << 53), using: &rng))
        case 2: return Double(Int.random(in: -100_000...100_000, using: &rng)) / 1000
        case 3: return [0.0, -0.0, 0.1, 1e300, -1e-300, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 9007199254740992.0]
            .randomElement(using: &rng) ?? 0
        default:
            // Any finite bit pattern: exercises exponents and the slow conversion path.
            while true {
                let candidate = Double(bitPattern: rng.next())
                if candidate.isFinite { return candidate }
            }
        }
    }

    static func string(using rng: inout SplitMix64) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            let value: UInt32
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: value = UInt32.random(in: 0..<0x20, using: &rng)  // control characters
            case 1: value = [0x22, 0x5C, 0x2F].randomElement(using: &rng) ?? 0x22  // " \ /
            case 2: value = UInt32.random(in: 0x80..<0x800, using: &rng)
            case 3: value = UInt32.random(in: 0x800..<0xD800, using: &rng)
            case 4: value = UInt32.random(in: 0xE000...0xFFFF, using: &rng)
            case 5: value = UInt32.random(in: 0x1_0000...0x10_FFFF, using: &rng)
            default: value = UInt32.random(in: 0x20..<0x7F, using: &rng)
            }
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
        }
        return String(scalars)
    }
}
