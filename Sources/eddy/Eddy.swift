import ArgumentParser
import NIOCore
import NIOPosix

/// The `eddy` command: the server and every client command, in one executable.
@main
struct Eddy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eddy",
        abstract: "A database server in which every request is an event.",
        discussion: """
            Client commands talk to a server given by --server or EDDY_SERVER \
            (default http://127.0.0.1:7420) and print one JSON object per line.
            """,
        subcommands: [
            Serve.self, Put.self, Patch.self, Incr.self, Delete.self, Insert.self, Get.self, Scan.self, Send.self, Subscribe.self, Provenance.self, Audit.self, Bench.self,
        ]
    )

    static func main() async {
        // Run Swift concurrency on NIO's event loops instead of a separate thread pool: a
        // request's async handler then runs on the loop that read it, saving two thread hops
        // per request. Blocking work (RocksDB) never runs there; the engine owns its threads.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await main(nil)
    }
}
