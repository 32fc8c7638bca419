import EddyModel

/// The handler of each op: the one place that maps an op to its logic.
enum Operations {
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
        }
    }
}
