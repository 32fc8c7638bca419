/// Maps a table key to its partition.
///
/// FNV-1a over table, a NUL and key: cheap, stable across releases and platforms (unlike
/// Swift's seeded `Hasher`), which matters because data on disk is placed by it.
public struct Partitioner: Sendable {
    public let count: Int

    public init(count: Int) {
        precondition(count > 0 && count <= 1024, "partition count must be 1...1024")
        self.count = count
    }

    public func partition(table: String, key: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in table.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        hash = (hash ^ 0) &* 0x100_0000_01b3
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(count))
    }
}
