/// A position token: for each partition it names, an offset in that partition's log.
///
/// Clients treat the string form as opaque. Passed back as `after`, it makes a later event
/// wait until every named offset has been applied, which gives read-your-writes and causal
/// order across partitions.
public struct Position: Sendable, Equatable, Hashable {
    /// Partition → offset, at most one offset per partition.
    public private(set) var offsets: [Int: UInt64]

    public init(_ offsets: [Int: UInt64] = [:]) {
        self.offsets = offsets.filter { $0.value > 0 }
    }

    public init(partition: Int, offset: UInt64) {
        self.init([partition: offset])
    }

    public var isEmpty: Bool { offsets.isEmpty }

    /// The later of two positions, partition by partition.
    public func merged(with other: Position) -> Position {
        Position(offsets.merging(other.offsets, uniquingKeysWith: max))
    }

    /// The token string: `partition:offset` pairs in partition order, joined by commas.
    public var token: String {
        offsets.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }

    public init(token: String) throws(EddyError) {
        var offsets: [Int: UInt64] = [:]
        if token.isEmpty {
            self.init()
            return
        }
        for pair in token.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let partition = Int(parts[0]), partition >= 0, partition < 65536,
                  let offset = UInt64(parts[1]), offsets[partition] == nil
            else {
                throw EddyError(.invalidPosition, "position token '\(token.prefix(80))' is not one this server issued")
            }
            offsets[partition] = offset
        }
        self.init(offsets)
    }
}
