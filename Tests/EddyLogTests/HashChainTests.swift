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

    @Test func legacyLink_matchesPinnedSHA256OfPreviousOffsetAndPayload() {
        // sha256(previous ‖ offset as 8 big-endian bytes ‖ payload): records of format 1.
        let first = HashChain.legacyLink(previous: HashChain.genesis(partition: 0), offset: 1, payload: Array("hello".utf8))
        #expect(hex(first) == "d7dad0cb4960344473ab00f7bf8ed9ebeb6fb4a1976eba891c9aa9a6e5795a1b")
        let second = HashChain.legacyLink(previous: first, offset: 2, payload: [UInt8]())
        #expect(hex(second) == "1c59f045cf3eafc0d29bb6f17269616885c699f2f791b810f6da2632dcbddca9")
    }

    @Test func link_matchesPinnedSHA256OfPreviousOffsetFlagsAndPayloadDigest() {
        // sha256(previous ‖ offset as 8 big-endian bytes ‖ flags byte ‖ sha256(payload))
        let first = HashChain.link(previous: HashChain.genesis(partition: 0), offset: 1, payload: Array("hello".utf8), prunable: false)
        #expect(hex(first) == "9c3b7b5ce45d4a639bcd05d399da1b6a3679eb6d1cf4da72d0d8568dd9770450")
        let second = HashChain.link(previous: first, offset: 2, payload: [UInt8](), prunable: true)
        #expect(hex(second) == "f6c9d77d8db20fb39f3ff7135c8e869b96e613a02d46901e2d0136cb52585a12")
        // From the digest alone (what a pruned record keeps), the same hash.
        #expect(hex(HashChain.digest(Array("hello".utf8))) == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(HashChain.link(previous: HashChain.genesis(partition: 0), offset: 1, flags: 0, payloadDigest: HashChain.digest(Array("hello".utf8))) == first)
    }

    @Test func link_changesWithThePrunableMark() {
        let previous = HashChain.genesis(partition: 1)
        #expect(HashChain.link(previous: previous, offset: 3, payload: [1, 2], prunable: true)
            != HashChain.link(previous: previous, offset: 3, payload: [1, 2], prunable: false))
    }

    @Test func genesis_differsPerPartitionAndIsStable() {
        let all = (0..<64).map { HashChain.genesis(partition: $0) }
        #expect(Set(all).count == 64)
        #expect(all.allSatisfy { $0.count == HashChain.hashBytes })
        #expect(HashChain.genesis(partition: 5) == HashChain.genesis(partition: 5))
    }

    @Test func link_changesWithPreviousOffsetOrPayload() {
        let previous = HashChain.genesis(partition: 1)
        let base = HashChain.link(previous: previous, offset: 10, payload: [1, 2, 3], prunable: false)
        #expect(base.count == HashChain.hashBytes)
        #expect(HashChain.link(previous: previous, offset: 10, payload: [1, 2, 3], prunable: false) == base)
        #expect(HashChain.link(previous: HashChain.genesis(partition: 2), offset: 10, payload: [1, 2, 3], prunable: false) != base)
        #expect(HashChain.link(previous: previous, offset: 11, payload: [1, 2, 3], prunable: false) != base)
        #expect(HashChain.link(previous: previous, offset: 10, payload: [1, 2, 4], prunable: false) != base)
        #expect(HashChain.link(previous: previous, offset: 10, payload: [1, 2], prunable: false) != base)
    }

    @Test func link_nonContiguousPayload_hashesLikeArray() {
        let previous = HashChain.genesis(partition: 3)
        let payload: [UInt8] = Array(0...200)
        let fromArray = HashChain.link(previous: previous, offset: 4, payload: payload, prunable: false)
        #expect(HashChain.link(previous: previous, offset: 4, payload: payload[...], prunable: false) == fromArray)
        // A reversed view is not contiguous, so it takes the copying path.
        #expect(HashChain.link(previous: previous, offset: 4, payload: Array(payload.reversed()).reversed(), prunable: false) == fromArray)
        #expect(HashChain.link(previous: previous, offset: 4, payload: (0...200).lazy.map { UInt8($0) }, prunable: false) == fromArray)
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
}
