/// What can go wrong reading or writing a partition log.
public enum LogError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A record failed its checksum or chain link, or a record in the middle is missing.
    case corrupt(partition: Int, offset: UInt64, reason: String)
    /// A read asked for records that retention has already removed.
    case truncated(partition: Int, requested: UInt64, firstRetained: UInt64)

    public var description: String {
        switch self {
        case let .corrupt(partition, offset, reason):
            "log of partition \(partition) is corrupt at offset \(offset): \(reason)"
        case let .truncated(partition, requested, firstRetained):
            "log of partition \(partition) no longer holds offset \(requested); the first retained offset is \(firstRetained)"
        }
    }
}
