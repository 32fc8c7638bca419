import EddyEngine
import EddyModel
import HTTPTypes
import Hummingbird
import NIOCore

/// A JSON reply apart from the transport that sends it: Hummingbird routes turn it into a
/// `Response`, and the events handler writes it straight to the channel as NIO's HTTP/1
/// parts. Every error body has the same shape: `{"error":{"code","message"},"ok":false}`.
struct JSONReply: Sendable {
    var status: HTTPResponse.Status = .ok
    /// The JSON. Each transport ends it with a newline as it writes it, so no copy is made
    /// here just to add one.
    var body: [UInt8]
    /// `Eddy-Replayed: true`: the answer to a retry, rebuilt from the first attempt's record.
    var replayed = false
    /// `Retry-After: 1`: the error is transient; the same request may succeed shortly.
    var retryLater = false

    init(_ json: [UInt8], status: HTTPResponse.Status = .ok) {
        self.status = status
        body = json
    }

    /// A single event's result with the status its outcome calls for.
    static func result(_ result: EventResult) -> JSONReply {
        var reply = JSONReply(result.body)
        reply.replayed = result.replayed
        if let error = result.error {
            reply.status = ErrorStatus.status(for: error.code)
            reply.retryLater = ErrorStatus.isTransient(error.code)
        }
        return reply
    }

    static func error(_ error: EddyError, id: String? = nil) -> JSONReply {
        result(.failure(error, id: id))
    }

    /// The header fields besides the length, each transport's own connection fields aside.
    func forEachHeader(_ body: (_ name: String, _ value: String) -> Void) {
        body("Content-Type", "application/json")
        if replayed { body("Eddy-Replayed", "true") }
        if retryLater { body("Retry-After", "1") }
    }
}

/// JSON replies as Hummingbird responses.
enum JSONResponses {
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        response(JSONReply(bytes, status: status))
    }

    static func error(_ error: EddyError, id: String? = nil) -> Response {
        response(.error(error, id: id))
    }

    static func result(_ result: EventResult) -> Response {
        response(.result(result))
    }

    static func response(_ reply: JSONReply) -> Response {
        var headers = HTTPFields()
        reply.forEachHeader { name, value in headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        var body = ByteBuffer()
        body.reserveCapacity(reply.body.count + 1)
        body.writeBytes(reply.body)
        body.writeInteger(UInt8(ascii: "\n"))
        return Response(status: reply.status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
