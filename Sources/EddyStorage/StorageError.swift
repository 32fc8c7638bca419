/// A failure reported by RocksDB, or a misuse of a closed store.
///
/// Storage errors are things the world does to us (full disk, corrupt file, I/O error),
/// so they are thrown, never trapped.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    /// What Eddy was doing when RocksDB failed, e.g. "open", "write", "get".
    public var operation: String
    /// RocksDB's own message, e.g. "Corruption: block checksum mismatch".
    public var message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    /// True when RocksDB reports damaged data rather than an I/O or usage problem.
    public var isCorruption: Bool { message.hasPrefix("Corruption") }

    public var description: String { "storage \(operation) failed: \(message)" }
}
