import ArgumentParser

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
            Serve.self, Put.self, Patch.self, Incr.self, Delete.self, Insert.self, Get.self, Scan.self, Send.self,
        ]
    )
}
