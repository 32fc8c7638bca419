public import EddyModel

/// What `Auditor` found, partition by partition.
public struct AuditReport: Sendable {
    public struct Partition: Sendable {
        public var partition: Int
        /// Log records whose hash and chain link were verified.
        public var recordsVerified: UInt64 = 0
        /// The span of the log that was audited.
        public var firstOffset: UInt64 = 0
        public var lastOffset: UInt64 = 0
        /// Whether state was re-derived from the log and compared.
        public var stateRederived = false
        /// Where re-deriving started, in words: "the beginning of the log", or "a verified
        /// snapshot at offset T" once retention removed the beginning of the log.
        public var stateRederivedFrom: String?
        /// The offset of the base snapshot re-deriving started from, if it did.
        public var snapshotOffset: UInt64?
        /// Why state was not re-derived, when it was not.
        public var stateNotRederivedBecause: String?
        /// Read records found pruned (read-record retention): verified in the chain, not re-run.
        public var recordsPruned: UInt64 = 0
        /// SHA-256 (hex) of the live state and of the re-derived state, in key order.
        public var liveDigest: String?
        public var rederivedDigest: String?
        /// The first key (in key order) whose live value differs from the re-derived one.
        public var firstDifference: String?
        /// Events procedure stages emitted to this partition that it has not applied yet (they
        /// are delivered at the next start). Not a problem.
        public var pendingEmitted = 0
        /// Everything wrong, in the order found. Empty when the partition is clean.
        public var problems: [String] = []

        public var isClean: Bool { problems.isEmpty }

        public var json: JSON {
            var object: [String: JSON] = [
                "partition": .number(Double(partition)),
                "recordsVerified": .number(Double(recordsVerified)),
                "firstOffset": .number(Double(firstOffset)),
                "lastOffset": .number(Double(lastOffset)),
                "stateRederived": .bool(stateRederived),
                "ok": .bool(isClean),
                "problems": .array(problems.map(JSON.string)),
            ]
            if let liveDigest { object["liveDigest"] = .string(liveDigest) }
            if let rederivedDigest { object["rederivedDigest"] = .string(rederivedDigest) }
            if let firstDifference { object["firstDifference"] = .string(firstDifference) }
            if pendingEmitted > 0 { object["pendingEmitted"] = .number(Double(pendingEmitted)) }
            if let stateRederivedFrom { object["stateRederivedFrom"] = .string(stateRederivedFrom) }
            if let snapshotOffset { object["snapshotOffset"] = .number(Double(snapshotOffset)) }
            if let stateNotRederivedBecause { object["stateNotRederivedBecause"] = .string(stateNotRederivedBecause) }
            if recordsPruned > 0 { object["recordsPruned"] = .number(Double(recordsPruned)) }
            return .object(object)
        }
    }

    public var partitions: [Partition]
    public var seconds: Double

    public var isClean: Bool { partitions.allSatisfy(\.isClean) }
    public var recordsVerified: UInt64 { partitions.reduce(0) { $0 + $1.recordsVerified } }
    public var recordsPruned: UInt64 { partitions.reduce(0) { $0 + $1.recordsPruned } }

    public var summary: JSON {
        [
            "ok": .bool(isClean),
            "partitions": .number(Double(partitions.count)),
            "recordsVerified": .number(Double(recordsVerified)),
            "recordsPruned": .number(Double(recordsPruned)),
            "seconds": .number((seconds * 1000).rounded() / 1000),
            "recordsPerSecond": .number(seconds > 0 ? (Double(recordsVerified) / seconds).rounded() : 0),
        ]
    }
}
