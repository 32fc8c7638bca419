import EddyStorage

/// One record as `EmbeddedLog` stores it, in the value under its key. The first byte is the
/// format:
/// - 1, written before pruning existed: hash (32 bytes), payload. Verified with
///   `HashChain.legacyLink`; never pruned.
/// - 2: hash (32), flags (1), payload.
/// - 3, a pruned record: hash (32), flags (1; must say prunable), the SHA-256 of the payload
///   it had (32).
///
/// Formats 2 and 3 verify with the same `HashChain.link(previous:offset:flags:payloadDigest:)`,
/// so pruning a record changes nothing a verifier checks: the stub's own hash still follows
/// from its predecessor's, and the next record still links to it.
struct EmbeddedLogRecord {
    static let legacyFormat: UInt8 = 1
    static let format: UInt8 = 2
    static let prunedFormat: UInt8 = 3

    enum Contents {
        case legacy(payload: [UInt8])
        case kept(payload: [UInt8])
        case pruned(payloadDigest: [UInt8])
    }

    let offset: Offset
    let hash: [UInt8]
    let flags: UInt8
    let contents: Contents

    var prunable: Bool { flags & HashChain.prunableFlag != 0 }

    /// The hash this record must carry if it follows a record with hash `previous`.
    func expectedHash(previous: [UInt8]) -> [UInt8] {
        switch contents {
        case .legacy(let payload): HashChain.legacyLink(previous: previous, offset: offset, payload: payload)
        case .kept(let payload): HashChain.link(previous: previous, offset: offset, flags: flags, payloadDigest: HashChain.digest(payload))
        case .pruned(let digest): HashChain.link(previous: previous, offset: offset, flags: flags, payloadDigest: digest)
        }
    }

    var entry: LogEntry {
        switch contents {
        case .legacy(let payload), .kept(let payload): LogEntry(offset: offset, payload: payload, hash: hash, prunable: prunable)
        case .pruned: LogEntry(offset: offset, payload: nil, hash: hash, prunable: true)
        }
    }

    /// The stored value of a record written now.
    static func encode(_ record: StagedRecord, hash: [UInt8]) -> [UInt8] {
        var value = [UInt8]()
        value.reserveCapacity(2 + HashChain.hashBytes + record.payload.count)
        value.append(format)
        value.append(contentsOf: hash)
        value.append(record.prunable ? HashChain.prunableFlag : 0)
        value.append(contentsOf: record.payload)
        return value
    }

    /// The stored value that replaces this record when it is pruned.
    func prunedValue() -> [UInt8] {
        precondition(prunable, "record \(offset) was not staged prunable")
        guard case .kept(let payload) = contents else { preconditionFailure("record \(offset) is not a prunable kept record") }
        var value = [UInt8]()
        value.reserveCapacity(2 + 2 * HashChain.hashBytes)
        value.append(Self.prunedFormat)
        value.append(contentsOf: hash)
        value.append(flags)
        value.append(contentsOf: HashChain.digest(payload))
        return value
    }

    /// Decodes a stored value, checking its header; its hash is checked by the caller, which
    /// knows the previous record's.
    init(decoding value: [UInt8], partition: Int, offset: Offset) throws(LogError) {
        self.offset = offset
        let header = 1 + HashChain.hashBytes
        guard value.count >= header else {
            throw LogError.corrupt(partition: partition, offset: offset, reason: "record header is damaged")
        }
        hash = Array(value[1..<header])
        switch value[0] {
        case Self.legacyFormat:
            flags = 0
            contents = .legacy(payload: Array(value[header...]))
        case Self.format where value.count >= header + 1:
            flags = value[header]
            contents = .kept(payload: Array(value[(header + 1)...]))
        case Self.prunedFormat where value.count == header + 1 + HashChain.hashBytes:
            flags = value[header]
            contents = .pruned(payloadDigest: Array(value[(header + 1)...]))
            // The one check the hash cannot make: the flags are hashed, so a stub claiming to be
            // prunable was staged so; a stub of any other record is damage or tampering.
            guard flags & HashChain.prunableFlag != 0 else {
                throw LogError.corrupt(partition: partition, offset: offset, reason: "record was pruned but never staged as prunable")
            }
        default:
            throw LogError.corrupt(partition: partition, offset: offset, reason: "record header is damaged")
        }
        guard flags & ~HashChain.prunableFlag == 0 else {
            throw LogError.corrupt(partition: partition, offset: offset, reason: "record flags are damaged")
        }
    }
}
