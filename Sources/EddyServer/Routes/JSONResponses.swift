import EddyEngine
import EddyModel
import HTTPTypes
import Hummingbird
import NIOCore

/// Builds JSON responses; every error body has the same shape: `{"error":{"code","message"},"ok":false}`.
enum JSONResponses {
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        var body = bytes
        body.append(UInt8(ascii: "\n"))
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func error(_ error: EddyError, id: String? = nil) -> Response {
        result(.failure(error, id: id))
    }

    /// A single event's result with the status its outcome calls for.
    static func result(_ result: EventResult) -> Response {
        var headers: HTTPFields = [:]
        if result.replayed { headers[HTTPField.Name("Eddy-Replayed")!] = "true" }
        guard let error = result.error else { return json(result.body, headers: headers) }
        if ErrorStatus.isTransient(error.code) { headers[.retryAfter] = "1" }
        return json(result.body, status: ErrorStatus.status(for: error.code), headers: headers)
    }
}
