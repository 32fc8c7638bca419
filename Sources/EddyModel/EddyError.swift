/// An error Eddy reports to a client: a stable machine-readable code and a message for people.
///
/// Codes are part of the API (docs/API.md lists each one); messages may change.
/// The mapping from code to HTTP status lives in one place, in EddyServer.
public struct EddyError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Bad input: the request itself is wrong; retrying it unchanged fails the same way.
        public static let malformedJSON = Code(rawValue: "malformed_json")
        public static let invalidUTF8 = Code(rawValue: "invalid_utf8")
        public static let tooDeep = Code(rawValue: "too_deep")
        public static let invalidEvent = Code(rawValue: "invalid_event")
        public static let unknownOp = Code(rawValue: "unknown_op")
        public static let unknownField = Code(rawValue: "unknown_field")
        public static let missingField = Code(rawValue: "missing_field")
        public static let wrongType = Code(rawValue: "wrong_type")
        public static let unknownTable = Code(rawValue: "unknown_table")
        public static let emptyKey = Code(rawValue: "empty_key")
        public static let keyTooLong = Code(rawValue: "key_too_long")
        public static let invalidID = Code(rawValue: "invalid_id")
        public static let invalidPosition = Code(rawValue: "invalid_position")
        public static let valueTooLarge = Code(rawValue: "value_too_large")
        public static let bodyTooLarge = Code(rawValue: "body_too_large")
        public static let batchTooLarge = Code(rawValue: "batch_too_large")
        public static let notFound = Code(rawValue: "not_found")
        /// A query or procedure's input lacks a declared field, or has the wrong type.
        public static let invalidInput = Code(rawValue: "invalid_input")
        public static let unknownQuery = Code(rawValue: "unknown_query")
        public static let unknownProcedure = Code(rawValue: "unknown_procedure")
        /// Declarations sent at run time do not parse or check; the message names line and reason.
        public static let invalidDeclaration = Code(rawValue: "invalid_declaration")
        /// A subscription's cursor is older than the change log's retention: changes after it
        /// are gone, so resuming would skip them. Subscribe again without `from` (a new snapshot).
        public static let cursorExpired = Code(rawValue: "cursor_expired")
        /// The event's record (or the writes behind a read) is past the log's retention.
        public static let provenanceExpired = Code(rawValue: "provenance_expired")
        /// A subscription snapshot would hold more documents than `subscriptionSnapshotMax`.
        public static let snapshotTooLarge = Code(rawValue: "snapshot_too_large")
        /// The op needs a streaming connection (subscribe over SSE or WebSocket).
        public static let streamingOnly = Code(rawValue: "streaming_only")

        // Rejections decided by the partition against its state; logged, and final for that ID.
        public static let conflict = Code(rawValue: "conflict")
        public static let notANumber = Code(rawValue: "not_a_number")
        public static let notAnObject = Code(rawValue: "not_an_object")
        public static let idReused = Code(rawValue: "id_reused")
        /// The ID was applied once, but its outcome is past retention; it is not applied again.
        public static let outcomeExpired = Code(rawValue: "outcome_expired")
        /// A procedure's declared check failed; the message is the declared reason.
        public static let rejected = Code(rawValue: "rejected")
        /// A declared expression could not be evaluated on these values (e.g. a string
        /// where a number was needed). Deterministic: the same input fails the same way.
        public static let expressionFailed = Code(rawValue: "expression_failed")

        // The server cannot take the event now; the same request may succeed later.
        public static let overloaded = Code(rawValue: "overloaded")
        /// The server holds `subscriptionsMax` subscriptions (or the connection its share).
        public static let tooManySubscriptions = Code(rawValue: "too_many_subscriptions")
        public static let partitionUnavailable = Code(rawValue: "partition_unavailable")
        public static let afterTimeout = Code(rawValue: "after_timeout")
        /// A fan-out query is missing a part: a partition did not answer in time or could
        /// not serve. No answer is given rather than a wrong one.
        public static let partialFailure = Code(rawValue: "partial_failure")
        /// A procedure call is logged and will finish, but its outcome was not recorded in
        /// time; look it up later in the procedure's outcome table, or retry with the same ID.
        public static let callPending = Code(rawValue: "call_pending")
        public static let shuttingDown = Code(rawValue: "shutting_down")
        /// An online audit is already running; only one runs at a time. Its result will be at `GET /v1/audit`.
        public static let auditRunning = Code(rawValue: "audit_running")
        public static let internalError = Code(rawValue: "internal")

        /// Every code the server itself answers with. A procedure's check may declare its own
        /// code for a rejection, but not one of these (other than `rejected` and `conflict`),
        /// whose statuses and retry advice mean something else.
        public static let serverCodes: Set<Code> = [
            .malformedJSON,
            .invalidUTF8,
            .tooDeep,
            .invalidEvent,
            .unknownOp,
            .unknownField,
            .missingField,
            .wrongType,
            .unknownTable,
            .emptyKey,
            .keyTooLong,
            .invalidID,
            .invalidPosition,
            .valueTooLarge,
            .bodyTooLarge,
            .batchTooLarge,
            .notFound,
            .invalidInput,
            .unknownQuery,
            .unknownProcedure,
            .invalidDeclaration,
            .cursorExpired,
            .provenanceExpired,
            .snapshotTooLarge,
            .streamingOnly,
            .conflict,
            .notANumber,
            .notAnObject,
            .idReused,
            .outcomeExpired,
            .rejected,
            .expressionFailed,
            .overloaded,
            .tooManySubscriptions,
            .partitionUnavailable,
            .afterTimeout,
            .partialFailure,
            .callPending,
            .shuttingDown,
            .auditRunning,
            .internalError,
        ]
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// `{"code":…,"message":…}`, the error object used in every response.
    public var json: JSON { .object(["code": .string(code.rawValue), "message": .string(message)]) }

    public init?(json: JSON) {
        guard let code = json["code"]?.stringValue, let message = json["message"]?.stringValue else { return nil }
        self.init(Code(rawValue: code), message)
    }
}

extension EddyError {
    /// Translates a JSON parse failure into the matching API error.
    public init(_ parseError: JSONParseError) {
        switch parseError.kind {
        case .malformed: self.init(.malformedJSON, parseError.message)
        case .invalidUTF8: self.init(.invalidUTF8, parseError.message)
        case .tooDeep: self.init(.tooDeep, parseError.message)
        }
    }
}
