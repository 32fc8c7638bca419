import EddyEngine
import EddyExpressions
import EddyModel
import Yams

/// Reads the `queries` and `procedures` sections (docs/DECLARATIONS.md). Every expression is
/// parsed, and every name it reads checked against what is in scope, at start-up; an error
/// names the file, the line, and the column within the expression.
struct DeclarationReader {
    let reader: ConfigurationLoader.Reader
    let tables: Set<String>

    func queries(_ node: Node, into declarations: inout Declarations) throws(ConfigurationError) {
        for (nameNode, body) in try namedEntries(node, what: "queries") {
            let name = try identifier(nameNode)
            let what = "query '\(name)'"
            let fields = try reader.mapping(body, allowed: ["description", "input", "lookups", "result"])
            let input = try inputFields(fields["input"], of: body, what)
            guard let lookupsNode = fields["lookups"] else { throw reader.error(body, "\(what) needs 'lookups'") }
            var lookups: [Lookup] = []
            var scope: Set<String> = ["input"]
            for (lookupName, lookupNode) in try namedEntries(lookupsNode, what: "lookups") {
                let lookup = try self.lookup(lookupName, lookupNode, what: what, scope: ["input"])
                guard !scope.contains(lookup.name) else { throw reader.error(lookupName, "\(what) binds '\(lookup.name)' twice") }
                scope.insert(lookup.name)
                lookups.append(lookup)
            }
            guard !lookups.isEmpty else { throw reader.error(lookupsNode, "\(what) needs at least one lookup") }
            guard let resultNode = fields["result"] else { throw reader.error(body, "\(what) needs 'result'") }
            var result: [NamedExpression] = []
            for (fieldName, expressionNode) in try namedEntries(resultNode, what: "result") {
                let field = try identifier(fieldName)
                guard !scope.contains(field) else {
                    throw reader.error(fieldName, "\(what): result field '\(field)' would hide a name already in scope; rename it")
                }
                let expression = try self.expression(expressionNode, what: "\(what), result field '\(field)'", scope: scope)
                scope.insert(field)
                result.append(NamedExpression(name: field, expression: expression))
            }
            guard !result.isEmpty else { throw reader.error(resultNode, "\(what) needs at least one result field") }
            guard declarations.queries[name] == nil else { throw reader.error(nameNode, "\(what) is declared twice") }
            declarations.queries[name] = QueryDeclaration(name: name, input: input, lookups: lookups, result: result)
        }
    }

    func procedures(_ node: Node, into declarations: inout Declarations) throws(ConfigurationError) {
        for (nameNode, body) in try namedEntries(node, what: "procedures") {
            let name = try identifier(nameNode)
            let what = "procedure '\(name)'"
            let fields = try reader.mapping(body, allowed: ["description", "input", "outcomes", "stages"])
            let input = try inputFields(fields["input"], of: body, what)
            guard let outcomesNode = fields["outcomes"] else { throw reader.error(body, "\(what) needs 'outcomes', the table its outcomes are recorded in") }
            let outcomes = try table(outcomesNode)
            guard let stagesNode = fields["stages"], let list = stagesNode.sequence, !list.isEmpty else {
                throw reader.error(body, "\(what) needs 'stages', a non-empty list")
            }
            var stages: [ProcedureDeclaration.Stage] = []
            for (index, stageNode) in list.enumerated() {
                let stage = try self.stage(stageNode, what: what)
                guard !stages.contains(where: { $0.name == stage.name }) else { throw reader.error(stageNode, "\(what) has two stages named '\(stage.name)'") }
                // Deliveries cannot be undone, so only a stage after which nothing can reject the call has them.
                if stage.deliver != nil, index != list.count - 1 {
                    throw reader.error(stageNode, "\(what), stage '\(stage.name)': only the last stage can 'deliver', since deliveries are never undone")
                }
                stages.append(stage)
            }
            guard declarations.procedures[name] == nil else { throw reader.error(nameNode, "\(what) is declared twice") }
            declarations.procedures[name] = ProcedureDeclaration(name: name, input: input, outcomes: outcomes, stages: stages)
        }
    }

    private func stage(_ node: Node, what procedure: String) throws(ConfigurationError) -> ProcedureDeclaration.Stage {
        let fields = try reader.mapping(node, allowed: ["name", "at", "read", "require", "write", "undo", "deliver"])
        guard let nameNode = fields["name"] else { throw reader.error(node, "a stage of \(procedure) needs a name") }
        let name = try identifier(nameNode)
        guard name != "outcome", !name.hasPrefix("undo-") else {
            throw reader.error(nameNode, "stage names 'outcome' and 'undo-…' are reserved")
        }
        let what = "\(procedure), stage '\(name)'"
        guard let atNode = fields["at"] else { throw reader.error(node, "\(what) needs 'at': the table and key whose partition runs it") }
        let at = try lookup(nameNode, atNode, what: what, scope: ["input"], bindsName: false)
        var scope: Set<String> = ["input"]
        var reads: [Lookup] = []
        if let readNode = fields["read"] {
            for (readName, lookupNode) in try namedEntries(readNode, what: "read") {
                let read = try lookup(readName, lookupNode, what: what, scope: ["input"])
                guard !scope.contains(read.name) else { throw reader.error(readName, "\(what) binds '\(read.name)' twice") }
                scope.insert(read.name)
                reads.append(read)
            }
        }
        var checks: [ProcedureDeclaration.Check] = []
        if let requireNode = fields["require"] {
            guard let list = requireNode.sequence else { throw reader.error(requireNode, "'require' must be a list of checks") }
            for checkNode in list {
                let check = try reader.mapping(checkNode, allowed: ["check", "reason", "code"])
                guard let condition = check["check"], let reason = check["reason"] else {
                    throw reader.error(checkNode, "a check needs 'check' (an expression) and 'reason'")
                }
                let code = try check["code"].map { (node: Node) throws(ConfigurationError) in try identifier(node) } ?? EddyError.Code.rejected.rawValue
                if let declared = check["code"], EddyError.Code.serverCodes.subtracting([.rejected, .conflict]).contains(EddyError.Code(rawValue: code)) {
                    throw reader.error(declared, "code '\(code)' is the server's own (docs/API.md); a check may use 'rejected', 'conflict' or a code of its own")
                }
                checks.append(ProcedureDeclaration.Check(
                    condition: try expression(condition, what: "\(what), check", scope: scope), code: code, reason: try reader.string(reason)
                ))
            }
        }
        let writes = try self.writes(fields["write"], what: "\(what), write", scope: scope)
        let undo = try self.writes(fields["undo"], what: "\(what), undo", scope: ["input"])
        let deliver = try fields["deliver"].map { (node: Node) throws(ConfigurationError) in try delivery(node, what: "\(what), deliver", scope: scope) }
        return ProcedureDeclaration.Stage(name: name, at: at, reads: reads, checks: checks, writes: writes, undo: undo, deliver: deliver)
    }

    /// `deliver: { each: LIST, as: NAME, to: { table, key }, value: TEMPLATE }`.
    private func delivery(_ node: Node, what: String, scope: Set<String>) throws(ConfigurationError) -> ProcedureDeclaration.Delivery {
        let fields = try reader.mapping(node, allowed: ["each", "as", "to", "value"])
        guard let eachNode = fields["each"], let asNode = fields["as"], let toNode = fields["to"], let valueNode = fields["value"] else {
            throw reader.error(node, "\(what) needs 'each' (a list), 'as' (the name of an element), 'to' (table and key) and 'value'")
        }
        let element = try identifier(asNode)
        guard !scope.contains(element) else { throw reader.error(asNode, "\(what): 'as: \(element)' would hide a name already in scope; rename it") }
        let each = try expression(eachNode, what: "\(what), each", scope: scope)
        let to = try reader.mapping(toNode, allowed: ["table", "key"])
        guard let tableNode = to["table"], let keyNode = to["key"] else { throw reader.error(toNode, "\(what): 'to' needs 'table' and 'key'") }
        let inner = scope.union([element])
        return ProcedureDeclaration.Delivery(
            each: each, element: element, table: try table(tableNode),
            key: try expression(keyNode, what: "\(what), key", scope: inner), value: try template(valueNode, what: "\(what), value", scope: inner)
        )
    }

    private func writes(_ node: Node?, what: String, scope: Set<String>) throws(ConfigurationError) -> [ProcedureDeclaration.Write] {
        guard let node else { return [] }
        guard let list = node.sequence else { throw reader.error(node, "\(what) must be a list of writes") }
        var writes: [ProcedureDeclaration.Write] = []
        for writeNode in list {
            let fields = try reader.mapping(writeNode, allowed: ["op", "table", "key", "value", "field", "by"])
            guard let opNode = fields["op"], let tableNode = fields["table"], let keyNode = fields["key"] else {
                throw reader.error(writeNode, "a write needs 'op', 'table' and 'key'")
            }
            let opName = try reader.string(opNode)
            guard let op = Op(rawValue: opName), op.isWrite, !op.spansPartitions else {
                throw reader.error(opNode, "a write's op must be put, insert, patch, incr or delete, not '\(opName)'")
            }
            var write = ProcedureDeclaration.Write(
                op: op, table: try table(tableNode), key: try expression(keyNode, what: "\(what), key", scope: scope), value: nil, field: nil, by: nil
            )
            switch op {
            case .put, .insert, .patch:
                guard let valueNode = fields["value"] else { throw reader.error(writeNode, "a \(op.rawValue) needs 'value'") }
                write.value = try template(valueNode, what: "\(what), value", scope: scope)
            case .incr:
                guard let field = fields["field"], let by = fields["by"] else { throw reader.error(writeNode, "an incr needs 'field' and 'by'") }
                write.field = try reader.string(field)
                write.by = try expression(by, what: "\(what), by", scope: scope)
            default:
                break
            }
            for unused in ["value", "field", "by"] where fields[unused] != nil {
                let used: Bool = switch (op, unused) {
                case (.put, "value"), (.insert, "value"), (.patch, "value"), (.incr, "field"), (.incr, "by"): true
                default: false
                }
                if !used { throw reader.error(fields[unused]!, "a \(op.rawValue) does not take '\(unused)'") }
            }
            writes.append(write)
        }
        return writes
    }

    /// A document template: a mapping of field → template, or one expression.
    private func template(_ node: Node, what: String, scope: Set<String>) throws(ConfigurationError) -> ValueTemplate {
        guard let mapping = node.mapping else { return .expression(try expression(node, what: what, scope: scope)) }
        var fields: [(name: String, value: ValueTemplate)] = []
        for (key, value) in mapping {
            guard let name = key.string else { throw reader.error(key, "field names must be strings") }
            fields.append((name, try template(value, what: "\(what).\(name)", scope: scope)))
        }
        return .object(fields)
    }

    private func lookup(_ nameNode: Node, _ node: Node, what: String, scope: Set<String>, bindsName: Bool = true) throws(ConfigurationError) -> Lookup {
        let fields = try reader.mapping(node, allowed: ["table", "key"])
        guard let tableNode = fields["table"], let keyNode = fields["key"] else { throw reader.error(node, "\(what): a lookup needs 'table' and 'key'") }
        let name = bindsName ? try identifier(nameNode) : ""
        return Lookup(name: name, table: try table(tableNode), key: try expression(keyNode, what: "\(what), key of '\(name)'", scope: scope))
    }

    private func inputFields(_ node: Node?, of body: Node, _ what: String) throws(ConfigurationError) -> [InputField] {
        guard let node else { throw reader.error(body, "\(what) needs 'input': a mapping of field name to type") }
        var fields: [InputField] = []
        for (nameNode, typeNode) in try namedEntries(node, what: "input") {
            let typeName = try reader.string(typeNode)
            guard let kind = InputField.Kind(rawValue: typeName) else {
                throw reader.error(typeNode, "input type must be one of \(InputField.Kind.allCases.map(\.rawValue).joined(separator: ", ")), not '\(typeName)'")
            }
            fields.append(InputField(name: try identifier(nameNode), kind: kind))
        }
        return fields
    }

    /// Parses an expression and checks every name it reads is in scope.
    private func expression(_ node: Node, what: String, scope: Set<String>) throws(ConfigurationError) -> Expression {
        let text = try reader.string(node)
        let expression: Expression
        do {
            expression = try Expression(parsing: text)
        } catch {
            // A scalar on one line: the expression's column plus where the scalar starts
            // (after its opening quote, if quoted).
            let quoted = node.scalar.map { $0.style == .singleQuoted || $0.style == .doubleQuoted } ?? false
            let column = (node.mark?.column ?? 1) + error.column - 1 + (quoted ? 1 : 0)
            throw ConfigurationError(source: reader.source, line: node.mark?.line, reason: "\(what): column \(column): \(error.reason) in '\(text)'")
        }
        if let unknown = expression.names.subtracting(scope).sorted().first {
            throw reader.error(node, "\(what): '\(unknown)' is not defined here; names in scope are \(scope.sorted().joined(separator: ", "))")
        }
        return expression
    }

    private func namedEntries(_ node: Node, what: String) throws(ConfigurationError) -> [(Node, Node)] {
        guard let mapping = node.mapping else { throw reader.error(node, "'\(what)' must be a mapping of names to declarations") }
        return mapping.map { ($0.key, $0.value) }
    }

    private func identifier(_ node: Node) throws(ConfigurationError) -> String {
        let name = try reader.string(node)
        guard let first = name.utf8.first, !(48...57).contains(first), name.utf8.count <= 64,
              name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }),
              !["true", "false", "null", "input"].contains(name)
        else {
            throw reader.error(node, "'\(name)' is not a valid name: use 1-64 of letters, digits and _, not starting with a digit, and not true, false, null or input")
        }
        return name
    }

    private func table(_ node: Node) throws(ConfigurationError) -> String {
        let name = try reader.string(node)
        guard tables.contains(name) else { throw reader.error(node, "table '\(name)' is not declared in 'tables'") }
        return name
    }
}
