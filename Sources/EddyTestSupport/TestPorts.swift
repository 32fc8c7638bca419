import Foundation
import Synchronization

/// Loopback ports for test servers, each handed to one `ServerProcess` of this test run at a
/// time, from below the kernel's ephemeral range.
///
/// Why not port 0: a server restarted after `kill -9` must come back on the port its clients
/// know. A port the kernel chose is in the ephemeral range, so while the server is down the
/// kernel may give it to another test's server or to any client socket's local end, and the
/// restart fails with "Address already in use". Ports below that range are never handed out
/// by the kernel, and this registry keeps the run's servers off each other's.
enum TestPorts {
    private static let taken = Mutex<Set<Int>>([])

    /// The ports to choose from: the 10,000 below the ephemeral range (32768–60999 by default).
    static let range: Range<Int> = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let low = text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
        let upper = max(low, 11_024)
        return (upper - 10_000)..<upper
    }()

    /// A port no other server of this run holds, until `release`.
    static func claim() -> Int {
        taken.withLock { taken in
            while true {
                let port = Int.random(in: range)
                if taken.insert(port).inserted { return port }
            }
        }
    }

    static func release(_ port: Int) {
        _ = taken.withLock { $0.remove(port) }
    }
}
