import EddyModel

/// The handler of each op: the one place that maps an op to its logic.
enum Operations {
    /// Runs `event` against `state`: what the operator, recovery checks and the auditor all call.
    static func handle(_ event: Event, state: StateView, context: OperationContext) throws -> Handled {
        switch event.op {
        case .query, .multiget: try CombineOperation.handle(event, context: context)
        case .call: try CallOperation.handle(event, state: state, context: context)
        case .declare: DeclareOperation.handle(event, state: state)
        default: try handler(for: event.op).handle(event, state: state, limits: context.limits)
        }
    }

    /// The single-key ops; a procedure's writes run through these too.
    static func handler(for op: Op) -> any Operation.Type {
        switch op {
        case .put: PutOperation.self
        case .insert: InsertOperation.self
        case .patch: PatchOperation.self
        case .incr: IncrOperation.self
        case .delete: DeleteOperation.self
        case .get: GetOperation.self
        case .scan: ScanOperation.self
        case .subscribe: SubscribeOperation.self
        case .query, .multiget, .call, .declare: preconditionFailure("op '\(op.rawValue)' is not a single-key op")
        }
    }
}
