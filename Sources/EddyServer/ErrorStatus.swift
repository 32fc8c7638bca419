import EddyModel
import HTTPTypes

/// The one place that maps an error code to an HTTP status.
enum ErrorStatus {
    static func status(for code: EddyError.Code) -> HTTPResponse.Status {
        switch code {
        case .malformedJSON, .invalidUTF8, .tooDeep, .invalidEvent, .unknownOp, .unknownField, .missingField,
             .wrongType, .emptyKey, .keyTooLong, .invalidID, .invalidPosition, .streamingOnly:
            .badRequest
        case .cursorExpired, .provenanceExpired:
            .gone
        case .unknownTable, .notFound:
            .notFound
        case .conflict, .notANumber, .notAnObject, .idReused, .outcomeExpired, .auditRunning:
            .conflict
        case .valueTooLarge, .bodyTooLarge, .batchTooLarge, .snapshotTooLarge:
            .contentTooLarge
        case .overloaded, .partitionUnavailable, .shuttingDown, .tooManySubscriptions:
            .serviceUnavailable
        case .afterTimeout:
            .gatewayTimeout
        default:
            .internalServerError
        }
    }

    /// Whether a client may retry the same request later (sent as `Retry-After`).
    static func isTransient(_ code: EddyError.Code) -> Bool {
        code == .overloaded || code == .partitionUnavailable || code == .shuttingDown || code == .tooManySubscriptions
    }
}
