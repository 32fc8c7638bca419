import EddyEngine
import Yams

extension ConfigurationLoader {
    /// Reads declarations sent at run time (`declare`): a YAML document with `queries` and/or
    /// `procedures` in the configuration file's format, checked against the declared tables.
    /// Each one named replaces the one of that name in `base`; the rest stay.
    static func declarationParser(tables: Set<String>) -> DeclarationRegistry.Parser {
        { source, base in
            let root: Node?
            do {
                root = try Yams.compose(yaml: source)
            } catch {
                throw ConfigurationError(source: "declaration", line: nil, reason: "not valid YAML: \(error)")
            }
            guard let root else { throw ConfigurationError(source: "declaration", line: nil, reason: "no declarations given") }
            let reader = Reader(source: "declaration")
            let top = try reader.mapping(root, allowed: ["queries", "procedures"])
            let declarations = DeclarationReader(reader: reader, tables: tables)
            var added = Declarations()
            if let queries = top["queries"] { try declarations.queries(queries, into: &added) }
            if let procedures = top["procedures"] { try declarations.procedures(procedures, into: &added) }
            var merged = base
            merged.queries.merge(added.queries) { $1 }
            merged.procedures.merge(added.procedures) { $1 }
            return merged
        }
    }
}
