import EddyModel
import HTTPTypes

/// The one place that maps an error code to an HTTP status.
enum ErrorStatus {
    static func status(for code: EddyError.Code) -> HTTPResponse.Status {
        switch code {
        case .malformedJSON, .invalidUTF8, .tooDeep, .invalidEvent, .unknownOp, .unknownField, .missingField,
             .wrongType, .emptyKey, .keyTooLong, .invalidID, .invalidPosition, .streamingOnly, .invalidInput, .invalidDeclaration:
            .badRequest
        case .cursorExpired, .provenanceExpired:
            .gone
        case .unknownTable, .notFound, .unknownQuery, .unknownProcedure:
            .notFound
        case .conflict, .notANumber, .notAnObject, .idReused, .outcomeExpired, .auditRunning, .rejected:
            .conflict
        case .expressionFailed:
            .unprocessableContent
        case .valueTooLarge, .bodyTooLarge, .batchTooLarge, .snapshotTooLarge:
            .contentTooLarge
        case .overloaded, .partitionUnavailable, .shuttingDown, .tooManySubscriptions:
            .serviceUnavailable
        case .afterTimeout, .partialFailure, .callPending:
            .gatewayTimeout
        case .internalError:
            .internalServerError
        default:
            // Not a server code: one a procedure's check declares (docs/DECLARATIONS.md). It
            // rejects the call against state, final for its request ID, as `rejected` does.
            EddyError.Code.serverCodes.contains(code) ? .internalServerError : .conflict
        }
    }

    /// Whether a client may retry the same request later (sent as `Retry-After`).
    static func isTransient(_ code: EddyError.Code) -> Bool {
        code == .overloaded || code == .partitionUnavailable || code == .shuttingDown || code == .tooManySubscriptions
            || code == .partialFailure || code == .callPending
    }
}
