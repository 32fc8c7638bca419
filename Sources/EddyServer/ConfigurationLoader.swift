import EddyEngine
import EddyModel
import Yams

/// Reads a YAML configuration file into a `ServerConfiguration`, strictly: unknown keys and
/// wrong types are errors naming the file and line, reported at start-up.
public enum ConfigurationLoader {
    public static func load(yaml: String, source: String) throws(ConfigurationError) -> ServerConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(source: source, line: nil, reason: "not valid YAML: \(error)")
        }
        var configuration = ServerConfiguration()
        guard let root else { return configuration }
        let reader = Reader(source: source)
        let top = try reader.mapping(root, allowed: ["server", "storage", "limits", "subscriptions", "audit", "tables", "queries", "procedures"])

        if let server = top["server"] {
            let fields = try reader.mapping(server, allowed: ["listen", "dataDirectory", "idleTimeoutSeconds"])
            if let listen = fields["listen"] {
                do {
                    try configuration.setListen(try reader.string(listen))
                } catch {
                    throw ConfigurationError(source: source, line: listen.mark?.line, reason: error.reason)
                }
            }
            if let directory = fields["dataDirectory"] { configuration.engine.dataDirectory = try reader.string(directory) }
            if let idle = fields["idleTimeoutSeconds"] { configuration.idleTimeoutSeconds = try reader.int(idle, in: 1...86400) }
        }
        if let storage = top["storage"] {
            let fields = try reader.mapping(storage, allowed: [
                "partitions", "workers", "durability", "logReads", "retainedRecordsPerPartition", "readRecordRetentionSeconds", "inboxEventsMax", "groupEventsMax",
                "afterTimeoutSeconds", "fanOutTimeoutSeconds", "callOutcomeTimeoutSeconds", "blockCacheMiB", "writeBufferMiB",
            ])
            var engine = configuration.engine
            if let node = fields["partitions"] { engine.partitions = try reader.int(node, in: 1...1024) }
            if let node = fields["workers"] { engine.workers = try reader.int(node, in: 1...64) }
            if let node = fields["durability"] {
                guard let durability = EngineConfiguration.Durability(rawValue: try reader.string(node)) else {
                    throw reader.error(node, "durability must be 'sync' or 'async'")
                }
                engine.durability = durability
            }
            if let node = fields["logReads"] { engine.logsReads = try reader.bool(node) }
            if let node = fields["retainedRecordsPerPartition"] { engine.retainedRecordsPerPartition = UInt64(try reader.int(node, in: 0...Int.max)) }
            // At most ten years: a longer read retention is as good as none, and says so more plainly.
            if let node = fields["readRecordRetentionSeconds"] { engine.readRecordRetentionSeconds = try reader.int(node, in: 0...315_360_000) }
            if let node = fields["inboxEventsMax"] { engine.inboxEventsMax = try reader.int(node, in: 1...1_000_000) }
            if let node = fields["groupEventsMax"] { engine.groupEventsMax = try reader.int(node, in: 1...100_000) }
            if let node = fields["afterTimeoutSeconds"] { engine.afterTimeoutSeconds = Double(try reader.int(node, in: 1...3600)) }
            if let node = fields["fanOutTimeoutSeconds"] { engine.fanOutTimeoutSeconds = Double(try reader.int(node, in: 1...3600)) }
            if let node = fields["callOutcomeTimeoutSeconds"] { engine.callOutcomeTimeoutSeconds = Double(try reader.int(node, in: 1...3600)) }
            if let node = fields["blockCacheMiB"] { engine.storage.blockCacheBytes = try reader.int(node, in: 1...1_048_576) << 20 }
            if let node = fields["writeBufferMiB"] { engine.storage.writeBufferBytes = try reader.int(node, in: 1...4096) << 20 }
            configuration.engine = engine
        }
        if let limits = top["limits"] {
            let fields = try reader.mapping(limits, allowed: [
                "bodyBytesMax", "valueBytesMax", "keyBytesMax", "idBytesMax", "jsonDepthMax", "batchEventsMax", "scanLimitMax", "scanLimitDefault",
            ])
            var values = configuration.engine.limits
            if let node = fields["bodyBytesMax"] { values.bodyBytesMax = try reader.int(node, in: 1024...(256 << 20)) }
            if let node = fields["valueBytesMax"] { values.valueBytesMax = try reader.int(node, in: 16...(64 << 20)) }
            if let node = fields["keyBytesMax"] { values.keyBytesMax = try reader.int(node, in: 1...65536) }
            if let node = fields["idBytesMax"] { values.idBytesMax = try reader.int(node, in: 8...4096) }
            if let node = fields["jsonDepthMax"] { values.jsonDepthMax = try reader.int(node, in: 2...Limits.jsonDepthCeiling) }
            if let node = fields["batchEventsMax"] { values.batchEventsMax = try reader.int(node, in: 1...100_000) }
            if let node = fields["scanLimitMax"] { values.scanLimitMax = try reader.int(node, in: 1...100_000) }
            if let node = fields["scanLimitDefault"] { values.scanLimitDefault = try reader.int(node, in: 1...100_000) }
            guard values.scanLimitDefault <= values.scanLimitMax else {
                throw reader.error(limits, "scanLimitDefault must not exceed scanLimitMax")
            }
            configuration.engine.limits = values
        }
        if let subscriptions = top["subscriptions"] {
            let fields = try reader.mapping(subscriptions, allowed: [
                "max", "perConnectionMax", "bufferMessages", "feedChangesMax", "feedPauseMicrosPerConnection", "feedPauseMaxMillis",
                "heartbeatSeconds", "snapshotDocumentsMax",
            ])
            var values = configuration.engine.subscriptions
            if let node = fields["max"] { values.max = try reader.int(node, in: 1...10_000_000) }
            if let node = fields["perConnectionMax"] { values.perConnectionMax = try reader.int(node, in: 1...1_000_000) }
            if let node = fields["bufferMessages"] { values.bufferMessages = try reader.int(node, in: 1...1_000_000) }
            if let node = fields["feedChangesMax"] { values.feedChangesMax = try reader.int(node, in: 1...100_000_000) }
            if let node = fields["feedPauseMicrosPerConnection"] { values.feedPauseMicrosPerConnection = try reader.int(node, in: 0...100_000) }
            if let node = fields["feedPauseMaxMillis"] { values.feedPauseMaxMillis = try reader.int(node, in: 0...1_000) }
            if let node = fields["heartbeatSeconds"] { values.heartbeatSeconds = Double(try reader.int(node, in: 1...3600)) }
            if let node = fields["snapshotDocumentsMax"] {
                configuration.engine.limits.subscriptionSnapshotMax = try reader.int(node, in: 1...10_000_000)
            }
            configuration.engine.subscriptions = values
        }
        if let audit = top["audit"] {
            let fields = try reader.mapping(audit, allowed: ["intervalSeconds"])
            // At most a week: a longer interval is as good as off, and says so more plainly.
            if let node = fields["intervalSeconds"] { configuration.engine.audit.intervalSeconds = try reader.int(node, in: 0...604_800) }
        }
        if let tables = top["tables"] {
            guard let list = tables.sequence else { throw reader.error(tables, "tables must be a list") }
            for item in list {
                let fields = try reader.mapping(item, allowed: ["name", "description"])
                guard let nameNode = fields["name"] else { throw reader.error(item, "a table needs a name") }
                let name = try reader.string(nameNode)
                do {
                    try Event.checkTableName(name)
                } catch {
                    throw reader.error(nameNode, error.message)
                }
                guard !configuration.engine.tables.contains(name) else { throw reader.error(nameNode, "table '\(name)' is declared twice") }
                configuration.engine.tables.insert(name)
            }
        }
        // After tables: declarations name them.
        let declarations = DeclarationReader(reader: reader, tables: configuration.engine.tables)
        if let queries = top["queries"] { try declarations.queries(queries, into: &configuration.engine.declarations) }
        if let procedures = top["procedures"] { try declarations.procedures(procedures, into: &configuration.engine.declarations) }
        configuration.engine.declarationParser = declarationParser(tables: configuration.engine.tables)
        return configuration
    }

    /// Typed access to YAML nodes with errors that point at the line.
    struct Reader {
        let source: String

        func error(_ node: Node, _ reason: String) -> ConfigurationError {
            ConfigurationError(source: source, line: node.mark?.line, reason: reason)
        }

        func mapping(_ node: Node, allowed: Set<String>) throws(ConfigurationError) -> [String: Node] {
            guard let mapping = node.mapping else { throw error(node, "expected a mapping of keys to values") }
            var fields: [String: Node] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw error(key, "keys must be strings") }
                guard allowed.contains(name) else {
                    throw error(key, "unknown key '\(name)'; expected one of \(allowed.sorted().joined(separator: ", "))")
                }
                fields[name] = value
            }
            return fields
        }

        func string(_ node: Node) throws(ConfigurationError) -> String {
            guard let scalar = node.scalar else { throw error(node, "expected a string") }
            return scalar.string
        }

        func int(_ node: Node, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let value = node.int else { throw error(node, "expected a whole number") }
            guard range.contains(value) else { throw error(node, "\(value) is outside \(range.lowerBound)...\(range.upperBound)") }
            return value
        }

        func bool(_ node: Node) throws(ConfigurationError) -> Bool {
            guard let value = node.bool else { throw error(node, "expected true or false") }
            return value
        }
    }
}
