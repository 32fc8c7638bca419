import EddyModel

/// What an operation may consult besides the event and its partition's state. The same
/// values are given to the live operator, to recovery and to the auditor, so that an
/// event re-run from the log decides the same way.
struct OperationContext: Sendable {
    var limits: Limits
    var declarations: DeclarationRegistry
    var partitioner: Partitioner
}

/// An event a stage emits to another partition, stored in the outbox in the same write
/// batch as the stage, and delivered after that batch is durable.
struct Emitted: Sendable {
    var partition: Int
    var event: Event
}
