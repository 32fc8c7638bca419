import EddyExpressions
import EddyModel

/// The last step of a fan-out `query` or `multiget`: combines the gathered parts into the
/// answer, in the partition that owns the request ID. The parts travel inside the logged
/// event, so the record alone re-derives the answer and its digest (audit, provenance).
enum CombineOperation {
    static func handle(_ event: Event, context: OperationContext) throws -> Handled {
        guard case .array(let parts)? = event.parts else {
            return Handled(outcome: .rejected(EddyError(.invalidEvent, "a \(event.op.rawValue) reaches its partition only with its gathered parts")), answer: nil)
        }
        let found = parts.map { Part($0) }
        let answer: JSON
        switch event.op {
        case .multiget:
            answer = .array(found.map { part in
                ["table": .string(part.table), "key": .string(part.key), "found": .bool(!part.value.isNull), "value": part.value]
            })
        default:
            guard let name = event.name, let query = context.declarations.declarations(event.version)?.queries[name] else {
                return Handled(outcome: .rejected(EddyError(.unknownQuery, "query '\(event.name ?? "")' is not declared")), answer: nil)
            }
            guard found.count == query.lookups.count else {
                return Handled(outcome: .rejected(EddyError(.invalidEvent, "query '\(name)' has \(query.lookups.count) lookups but \(found.count) parts")), answer: nil)
            }
            do {
                answer = try combine(query, input: event.input ?? .null, parts: found.map(\.value))
            } catch {
                return Handled(outcome: .rejected(EddyError(.expressionFailed, "query '\(name)': \(error.reason)")), answer: nil)
            }
        }
        let bytes = answer.serialized()
        let sources = found.map { ReadRecord.Source(table: $0.table, key: $0.key, producedAt: $0.producedAt) }
        return Handled(outcome: .read(GetOperation.readRecord(event, .document(bytes), sources: sources)), answer: .document(bytes))
    }

    /// Evaluates the result fields in order; each sees the input, the looked-up documents
    /// (null when absent) and the fields before it.
    static func combine(_ query: QueryDeclaration, input: JSON, parts: [JSON]) throws(EvaluationError) -> JSON {
        var scope: [String: JSON] = ["input": input]
        for (lookup, value) in zip(query.lookups, parts) { scope[lookup.name] = value }
        var answer: [String: JSON] = [:]
        for field in query.result {
            let value = try field.expression.evaluate(in: scope)
            scope[field.name] = value
            answer[field.name] = value
        }
        return .object(answer)
    }

    /// One gathered document: where it lives, the offset of the write that produced it
    /// (0 when absent), and its value (null when absent).
    struct Part {
        var table: String
        var key: String
        var producedAt: UInt64
        var value: JSON

        init(table: String, key: String, producedAt: UInt64, value: JSON) {
            self.table = table
            self.key = key
            self.producedAt = producedAt
            self.value = value
        }

        init(_ json: JSON) {
            table = json["table"]?.stringValue ?? ""
            key = json["key"]?.stringValue ?? ""
            producedAt = UInt64(json["at"]?.numberValue ?? 0)
            value = json["value"] ?? .null
        }

        var json: JSON {
            ["table": .string(table), "key": .string(key), "at": .number(Double(producedAt)), "value": value]
        }
    }
}
