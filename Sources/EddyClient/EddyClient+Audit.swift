public import EddyModel

extension EddyClient {
    /// Runs an online audit of the server and returns its report (`ok`, `summary`,
    /// `partitions`), whether or not the audit holds; it waits however long the audit
    /// takes (no request timeout). Throws the server's error otherwise, such as
    /// `audit_running` while another audit runs.
    public func audit() async throws -> JSON {
        try Self.auditReply(try await request(method: "POST", path: "/v1/audit", timeout: nil))
    }

    /// The report of the last online audit; throws `not_found` if none has finished yet.
    public func lastAudit() async throws -> JSON {
        try Self.auditReply(try await request(method: "GET", path: "/v1/audit"))
    }

    private static func auditReply(_ reply: HTTPReply) throws -> JSON {
        let body = try decode(reply.body)
        guard reply.status == 200 else {
            throw EddyError(json: body["error"] ?? .null) ?? EddyError(.internalError, "unexpected reply \(reply.status): \(body.serializedString)")
        }
        return body
    }
}
