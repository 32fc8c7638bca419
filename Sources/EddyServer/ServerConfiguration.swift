public import EddyEngine

/// Everything `eddy serve` runs with. Defaults here are the defaults of `Config/eddy.yaml`'s
/// missing keys; the file documents each one.
public struct ServerConfiguration: Sendable {
    /// Address to listen on. Loopback by default: exposing a database is a decision.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (the chosen port is printed at start).
    public var port: Int = 7420
    /// Seconds an idle keep-alive connection is kept open.
    public var idleTimeoutSeconds: Int = 120
    public var engine: EngineConfiguration

    public init(dataDirectory: String = "eddy-data") {
        engine = EngineConfiguration(dataDirectory: dataDirectory)
    }

    /// Parses "HOST:PORT".
    public mutating func setListen(_ listen: String) throws(ConfigurationError) {
        (host, port) = try Self.hostAndPort(listen)
    }

    /// Splits "HOST:PORT" at its last colon; the port must be 0 to 65535. Every address the
    /// CLI takes goes through here.
    public static func hostAndPort(_ address: String) throws(ConfigurationError) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigurationError(source: "--listen", line: nil, reason: "'\(address)' is not HOST:PORT")
        }
        return (String(address[..<colon]), port)
    }
}

/// A configuration problem, with where it is and why.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var line: Int?
    public var reason: String

    public init(source: String, line: Int?, reason: String) {
        self.source = source
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(source):\(line): \(reason)" }
        return "\(source): \(reason)"
    }
}
