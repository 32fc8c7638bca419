import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One plain TCP connection to a server, for tests of HTTP/1.1 itself: pipelined requests
/// sent in one write, `Connection: close`, idle timeouts. It sends bytes as given and parses
/// responses with a `Content-Length`, which is how Eddy answers every non-streaming request.
/// The waits run on a thread of their own (`onOwnThread`), never on the cooperative pool.
///
/// Why unchecked Sendable: a test drives one connection from one task, one call at a time;
/// a wait hands the connection to its own thread and takes it back when it returns.
public final class RawHTTPConnection: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]

        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let socket: Int32
    private var received: [UInt8] = []

    /// - Parameter url: `http://127.0.0.1:PORT`.
    public init(url: String) throws {
        guard let port = URL(string: url)?.port else { throw Failure(description: "no port in \(url)") }
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure(description: "connect to \(url) failed")
        }
    }

    deinit { close(socket) }

    /// A request's bytes: the request line, `Host`, a `Content-Length` for the body, and any
    /// extra header lines.
    public static func request(_ method: String, _ path: String, body: String = "", headers: [String] = [], version: String = "HTTP/1.1") -> String {
        var text = "\(method) \(path) \(version)\r\nHost: 127.0.0.1\r\n"
        for header in headers { text += header + "\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + body
    }

    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "write failed after \(sent) bytes") }
            sent += written
        }
    }

    /// Half-closes: the server sees the end of its input, and may still answer.
    public func closeWrite() {
        shutdown(socket, Int32(SHUT_WR))
    }

    /// The next response, within `timeout`.
    public func readResponse(timeout: TimeInterval = 10) async throws -> Response {
        try await onOwnThread { [self] in try readResponseBlocking(timeout: timeout) }
    }

    private func readResponseBlocking(timeout: TimeInterval) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let response = try parse() { return response }
            guard try fill(until: deadline) else { throw Failure(description: "connection closed before a whole response; got \(String(decoding: received, as: UTF8.self))") }
        }
    }

    /// Whether `text` arrives within `timeout`, for streams without a length (SSE). What
    /// arrived stays unread.
    public func receives(_ text: String, within timeout: TimeInterval) async -> Bool {
        (try? await onOwnThread { [self] in receivesBlocking(text, within: timeout) }) ?? false
    }

    private func receivesBlocking(_ text: String, within timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let wanted = Array(text.utf8)
        do {
            while true {
                if received.count >= wanted.count, (0...(received.count - wanted.count)).contains(where: { received[$0..<($0 + wanted.count)].elementsEqual(wanted) }) {
                    return true
                }
                guard try fill(until: deadline) else { return false }
            }
        } catch {
            return false
        }
    }

    /// Whether the server closes the connection within `timeout` (whatever else it sends).
    public func closesWithin(_ timeout: TimeInterval) async -> Bool {
        (try? await onOwnThread { [self] in closesWithinBlocking(timeout) }) ?? false
    }

    private func closesWithinBlocking(_ timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        do {
            while try fill(until: deadline) {}
            return true
        } catch {
            return false
        }
    }

    /// Reads more bytes; false at end of stream. Throws when the deadline passes.
    private func fill(until deadline: Date) throws -> Bool {
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else { throw Failure(description: "timed out; got \(String(decoding: received, as: UTF8.self))") }
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(remaining * 1000) + 1) > 0 else { return try fill(until: deadline) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        received += buffer[0..<count]
        return true
    }

    private func parse() throws -> Response? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = received.indices.dropLast(3).first(where: { received[$0..<($0 + 4)].elementsEqual(separator) }) else { return nil }
        let lines = String(decoding: received[0..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let length = headers["content-length"].flatMap(Int.init) else { throw Failure(description: "response without Content-Length: \(lines)") }
        let bodyStart = headEnd + 4
        guard received.count >= bodyStart + length else { return nil }
        let body = Array(received[bodyStart..<(bodyStart + length)])
        received.removeFirst(bodyStart + length)
        return Response(status: status, headers: headers, body: body)
    }
}
