import EddyLog
import Testing

/// Stored logs must verify forever, so the hash format is pinned to known answers
/// (SHA-256 computed independently of Swift).
@Suite("HashChain")
struct HashChainTests {
    @Test func genesis_matchesPinnedSHA256OfPartitionLabel() {
        // sha256("eddy log genesis, partition 0") and "… partition 7"
        #expect(hex(HashChain.genesis(partition: 0)) == "a321ae592ef302631e7b70bfcb118b11ae30eca7be32aece35df1dfc2dc2c000")
        #expect(hex(HashChain.genesis(partition: 7)) == "7c5149ee14221cc992801f3354d3e36a032086c58eb57aecbfd3d0e19a7f6d7f")
    }

    @Test func link_matchesPinnedSHA256OfPreviousOffsetAndPayload() {
        // sha256(previous ‖ offset as 8 big-endian bytes ‖ payload)
        let first = HashChain.link(previous: HashChain.genesis(partition: 0), offset: 1, payload: Array("hello".utf8))
        #expect(hex(first) == "d7dad0cb4960344473ab00f7bf8ed9ebeb6fb4a1976eba891c9aa9a6e5795a1b")
        let second = HashChain.link(previous: first, offset: 2, payload: [UInt8]())
        #expect(hex(second) == "1c59f045cf3eafc0d29bb6f17269616885c699f2f791b810f6da2632dcbddca9")
    }

    @Test func genesis_differsPerPartitionAndIsStable() {
        let all = (0..<64).map { HashChain.genesis(partition: $0) }
        #expect(Set(all).count == 64)
        #expect(all.allSatisfy { $0.count == HashChain.hashBytes })
        #expect(HashChain.genesis(partition: 5) == HashChain.genesis(partition: 5))
    }

    @Test func link_changesWithPreviousOffsetOrPayload() {
        let previous = HashChain.genesis(partition: 1)
        let base = HashChain.link(previous: previous, offset: 10, payload: [1, 2, 3])
        #expect(base.count == HashChain.hashBytes)
        #expect(HashChain.link(previous: previous, offset: 10, payload: [1, 2, 3]) == base)
        #expect(HashChain.link(previous: HashChain.genesis(partition: 2), offset: 10, payload: [1, 2, 3]) != base)
        #expect(HashChain.link(previous: previous, offset: 11, payload: [1, 2, 3]) != base)
        #expect(HashChain.link(previous: previous, offset: 10, payload: [1, 2, 4]) != base)
        #expect(HashChain.link(previous: previous, offset: 10, payload: [1, 2]) != base)
    }

    @Test func link_nonContiguousPayload_hashesLikeArray() {
        let previous = HashChain.genesis(partition: 3)
        let payload: [UInt8] = Array(0...200)
        let fromArray = HashChain.link(previous: previous, offset: 4, payload: payload)
        #expect(HashChain.link(previous: previous, offset: 4, payload: payload[...]) == fromArray)
        // A reversed view is not contiguous, so it takes the copying path.
        #expect(HashChain.link(previous: previous, offset: 4, payload: Array(payload.reversed()).reversed()) == fromArray)
        #expect(HashChain.link(previous: previous, offset: 4, payload: (0...200).lazy.map { UInt8($0) }) == fromArray)
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
}
