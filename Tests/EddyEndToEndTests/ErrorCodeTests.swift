import EddyModel
@testable import EddyServer
import Foundation
import Testing

/// The error codes are API: docs/API.md's table lists exactly the server's codes, each with
/// the status the server answers it with, and a code a procedure declares is a rejection.
@Suite struct ErrorCodeTests {
    /// (code, status) for each row of the Errors table in docs/API.md whose first cell is a code.
    static func documentedCodes() throws -> [(code: String, status: Int)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let api = try String(contentsOf: root.appendingPathComponent("docs/API.md"), encoding: .utf8)
        let errors = try #require(api.components(separatedBy: "\n## Errors\n").last?.components(separatedBy: "\n## ").first)
        return errors.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3, cells[1].hasPrefix("`"), cells[1].hasSuffix("`"), let status = Int(cells[2]) else { return nil }
            return (String(cells[1].dropFirst().dropLast()), status)
        }
    }

    @Test func apiDocument_listsEveryServerCode_withItsStatus() throws {
        let documented = try Self.documentedCodes()
        #expect(Set(documented.map(\.code)) == Set(EddyError.Code.serverCodes.map(\.rawValue)))
        for (code, status) in documented {
            #expect(Int(ErrorStatus.status(for: EddyError.Code(rawValue: code)).code) == status, "\(code)")
        }
    }

    @Test func aDeclaredCode_isAConflict() {
        #expect(ErrorStatus.status(for: EddyError.Code(rawValue: "insufficient_funds")) == .conflict)
        #expect(ErrorStatus.status(for: .internalError) == .internalServerError)
    }
}
