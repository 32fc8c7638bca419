import EddyEngine
import EddyModel
import HTTPTypes
import Hummingbird
import NIOCore

/// A JSON reply apart from the transport that sends it: Hummingbird routes turn it into a
/// `Response`, and the events handler writes it straight to the channel.
/// Every error body has the same shape: `{"error":{"code","message"},"ok":false}`.
struct JSONReply: Sendable {
    var status: HTTPResponse.Status = .ok
    var headers: HTTPFields = [:]
    /// The JSON, ending in a newline.
    var body: [UInt8]

    init(_ json: [UInt8], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) {
        self.status = status
        headers = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        body = json
        body.append(UInt8(ascii: "\n"))
    }

    /// A single event's result with the status its outcome calls for.
    static func result(_ result: EventResult) -> JSONReply {
        var headers: HTTPFields = [:]
        if result.replayed { headers[HTTPField.Name("Eddy-Replayed")!] = "true" }
        guard let error = result.error else { return JSONReply(result.body, headers: headers) }
        if ErrorStatus.isTransient(error.code) { headers[.retryAfter] = "1" }
        return JSONReply(result.body, status: ErrorStatus.status(for: error.code), headers: headers)
    }

    static func error(_ error: EddyError, id: String? = nil) -> JSONReply {
        result(.failure(error, id: id))
    }
}

/// JSON replies as Hummingbird responses.
enum JSONResponses {
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        response(JSONReply(bytes, status: status, headers: headers))
    }

    static func error(_ error: EddyError, id: String? = nil) -> Response {
        response(.error(error, id: id))
    }

    static func result(_ result: EventResult) -> Response {
        response(.result(result))
    }

    static func response(_ reply: JSONReply) -> Response {
        Response(status: reply.status, headers: reply.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}
