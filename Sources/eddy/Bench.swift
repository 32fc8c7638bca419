import ArgumentParser
import EddyBench
import EddyServer
import Foundation

/// `eddy bench`: load generators that drive a running server over loopback.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a running server (and Redis, as the peer) with real clients over loopback.",
        subcommands: [FanOut.self, Many.self, Floor.self]
    )

    struct FanOut: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fanout",
            abstract: "One key with many SSE subscribers, written as fast as acknowledgements allow; prints changes delivered per second and write-to-delivery latency."
        )
        @OptionGroup var options: ClientOptions
        @Option(help: "Subscribers of the one key.") var subscribers = 1000
        @Option(help: "Writes in flight.") var writers = 16
        @Option(help: "Seconds of writing.") var seconds = 5.0
        @Option(help: "Table to write (must be declared).") var table = "counters"
        @Option(help: "Measure Redis pub/sub at HOST:PORT instead, with the same subscriber and writer counts.") var redis: String?

        func run() async throws {
            let report: SubscriptionBenchmarks.Report
            if let redis {
                guard let (host, port) = try? ServerConfiguration.hostAndPort(redis) else { throw ValidationError("--redis takes HOST:PORT") }
                report = try await SubscriptionBenchmarks.redisFanOut(host: host, port: port, subscribers: subscribers, writers: writers, seconds: seconds)
            } else {
                report = try await SubscriptionBenchmarks.eddyFanOut(url: options.url, table: table, subscribers: subscribers, writers: writers, seconds: seconds)
            }
            Output.line(report.json)
        }
    }

    struct Many: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "subscriptions",
            abstract: "Many SSE subscriptions to distinct keys, written at a fixed rate; prints write-to-delivery latency."
        )
        @OptionGroup var options: ClientOptions
        @Option(help: "Subscriptions, one key each.") var subscriptions = 10_000
        @Option(help: "Writes per second, spread over the keys.") var rate = 1000.0
        @Option(help: "Seconds of writing.") var seconds = 10.0
        @Option(help: "Table to write (must be declared).") var table = "counters"
        @Option(help: "The server's process ID, to report its resident memory with every subscription open.") var serverPid: Int32?

        func run() async throws {
            let report = try await SubscriptionBenchmarks.eddyMany(url: options.url, table: table, subscriptions: subscriptions, rate: rate, seconds: seconds, serverPID: serverPid)
            Output.line(report.json)
        }
    }

    struct Floor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "floor",
            abstract: "Serve a fixed answer to every HTTP request, doing no work, with the same SwiftNIO HTTP codec and event loops as `eddy serve`: the transport floor the load tool measures next to Eddy."
        )
        @Option(help: "Address to listen on as HOST:PORT. Port 0 picks a free port.") var listen = "127.0.0.1:7421"
        @Flag(help: "Answer each request only after a trip to a thread of the server's own and back, batched both ways: the least a server pays that keeps storage off its event loops.") var handoff = false
        @Option(help: "Event loop threads of its own. Without it, NIO's shared ones, one per core, as `eddy serve` uses.") var eventLoops: Int?

        func run() async throws {
            guard let (host, port) = try? ServerConfiguration.hostAndPort(listen) else {
                throw ValidationError("--listen takes HOST:PORT, e.g. 127.0.0.1:7421")
            }
            if let eventLoops, !(1...256).contains(eventLoops) { throw ValidationError("--event-loops takes 1 to 256") }
            try await TransportFloor.serve(host: host, port: port, eventLoops: eventLoops, handoff: handoff) { address in
                FileHandle.standardOutput.write(Data("eddy bench floor listening on http://\(address)\n".utf8))
            }
        }
    }
}
