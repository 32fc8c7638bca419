import EddyModel
import Synchronization

/// Every version of the declarations a server has run with: version 0 is the configuration
/// file's, and each `declare` record makes a new version numbered by its offset in
/// partition 0's log. A query or call records the version it ran with, so recovery and the
/// auditor re-run it with exactly those declarations, whatever changed since.
public final class DeclarationRegistry: Sendable {
    /// Turns a `declare`'s source text into declarations; supplied by whoever reads the
    /// configuration format (EddyServer), so the engine does not parse YAML itself.
    public typealias Parser = @Sendable (_ source: String, _ base: Declarations) throws -> Declarations

    private let versions: Mutex<[UInt64: Declarations]>
    private let latest = Atomic<UInt64>(0)
    let parser: Parser?

    public init(base: Declarations, parser: Parser?) {
        versions = Mutex([0: base])
        self.parser = parser
    }

    /// The version new queries and calls run with.
    var currentVersion: UInt64 { latest.load(ordering: .acquiring) }

    /// The declarations of `version` (nil means the configuration file's).
    func declarations(_ version: UInt64?) -> Declarations? {
        versions.withLock { $0[version ?? 0] }
    }

    func current() -> (version: UInt64, declarations: Declarations) {
        versions.withLock { all in
            let version = latest.load(ordering: .acquiring)
            return (version, all[version]!)
        }
    }

    /// Parses `source` on top of the newest version, without recording it.
    func parse(_ source: String) throws -> Declarations {
        guard let parser else { throw EddyError(.invalidEvent, "this server takes no declarations at run time") }
        return try parser(source, current().declarations)
    }

    /// Records version `version`, made by the `declare` record at that offset of partition 0.
    /// Versions are registered in log order.
    func register(_ version: UInt64, source: String) throws {
        let declarations = try parse(source)
        versions.withLock { all in
            all[version] = declarations
            if version > latest.load(ordering: .acquiring) { latest.store(version, ordering: .releasing) }
        }
    }
}
