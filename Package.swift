// swift-tools-version:6.1
// Eddy: a database server in which every request is an event.
// Dependencies point one way: eddy (CLI) → EddyServer → EddyEngine → EddyLog → EddyStorage → CRocksDB,
// and everything may use EddyModel. EddyEngine and EddyServer also use EddyExpressions (the
// declaration language), which depends only on EddyModel. EddyClient depends only on EddyModel and SwiftNIO.
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "eddy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "eddy", targets: ["eddy"]),
        .library(name: "EddyClient", targets: ["EddyClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // The RocksDB C API from Debian's librocksdb-dev. Only EddyStorage imports it.
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        // Values shared by server and clients: JSON, events, results, positions, error codes. No dependencies.
        .target(name: "EddyModel", swiftSettings: strict),
        // The declaration language: bounded, deterministic expressions over JSON values.
        .target(name: "EddyExpressions", dependencies: ["EddyModel"], swiftSettings: strict),
        // Threads the kernel knows by name (for top -H, perf and the load tool's CPU by thread).
        .target(name: "EddyThreads", swiftSettings: strict),
        // The one module that calls RocksDB: owned handles, batches, iterators, snapshots.
        .target(name: "EddyStorage", dependencies: ["CRocksDB"], swiftSettings: strict),
        // The partition log behind a narrow interface; the embedded, hash-chained implementation.
        .target(
            name: "EddyLog",
            dependencies: [
                "EddyStorage", "EddyThreads",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // Partition operators (one file per op), routing, group commit, recovery.
        .target(
            name: "EddyEngine",
            dependencies: [
                "EddyModel", "EddyStorage", "EddyLog", "EddyExpressions", "EddyThreads",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // The embedded default configuration: Config/eddy.yaml, shipped inside the binary's resource bundle.
        .target(name: "EddyDefaultConfig", path: "Config", resources: [.copy("eddy.yaml")], swiftSettings: strict),
        // HTTP framing only: routes, SSE and WebSocket streams, body limits, error → status mapping, /health, /metrics.
        .target(
            name: "EddyServer",
            dependencies: [
                "EddyModel", "EddyEngine", "EddyExpressions", "EddyDefaultConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The Swift client library: HTTP/1.1 keep-alive over SwiftNIO.
        .target(
            name: "EddyClient",
            dependencies: [
                "EddyModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Load generators for `eddy bench`: subscribers and writers over loopback, and the Redis peer.
        .target(
            name: "EddyBench",
            dependencies: [
                "EddyModel", "EddyClient", "EddyThreads",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The one executable: server and client commands.
        .executableTarget(
            name: "eddy",
            dependencies: [
                "EddyModel", "EddyEngine", "EddyServer", "EddyClient", "EddyDefaultConfig", "EddyBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Starts real `eddy` server processes on loopback ports for tests; a WebSocket test client.
        .target(
            name: "EddyTestSupport",
            dependencies: [
                "EddyModel", "EddyClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "EddyModelTests", dependencies: ["EddyModel"], swiftSettings: strict),
        .testTarget(name: "EddyExpressionsTests", dependencies: ["EddyExpressions", "EddyModel"], swiftSettings: strict),
        .testTarget(name: "EddyStorageTests", dependencies: ["EddyStorage"], swiftSettings: strict),
        .testTarget(name: "EddyThreadsTests", dependencies: ["EddyThreads", "EddyTestSupport"], swiftSettings: strict),
        .testTarget(name: "EddyLogTests", dependencies: ["EddyLog", "EddyStorage"], swiftSettings: strict),
        .testTarget(name: "EddyEngineTests", dependencies: ["EddyEngine", "EddyModel", "EddyStorage", "EddyLog", "EddyExpressions"], swiftSettings: strict),
        .testTarget(
            name: "EddyEndToEndTests",
            // EddyEngine and EddyStorage only to damage a stopped server's data directory, as a tamperer or a bad disk would;
            // EddyServer to check declaration errors through its configuration loader.
            dependencies: ["eddy", "EddyTestSupport", "EddyClient", "EddyModel", "EddyEngine", "EddyServer", "EddyStorage"],
            swiftSettings: strict
        ),
    ]
)
