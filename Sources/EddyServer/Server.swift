import EddyEngine
public import Logging
import Hummingbird
import HummingbirdWebSocket
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// Runs Eddy: the engine, and the HTTP server in front of it, until SIGTERM or SIGINT.
///
/// Shutdown is ordered: the HTTP server stops taking requests and finishes the ones in
/// flight, then the engine drains its partition queues and closes storage.
public enum Server {
    /// - Parameter onListening: called once with the bound address, e.g. "127.0.0.1:7420".
    public static func run(
        configuration: ServerConfiguration,
        logger: Logger,
        onListening: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let engine = try Engine(configuration: configuration.engine, logger: logger)
        defer { engine.close() }

        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        DeclarationRoutes(engine: engine).register(on: router)
        ReadRoutes(engine: engine).register(on: router)
        ProvenanceRoutes(engine: engine).register(on: router)
        OperationsRoutes(engine: engine, registry: registry).register(on: router)
        AuditRoutes(engine: engine).register(on: router)

        let application = Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: WebSocketRoutes(engine: engine).router(),
                // `POST /v1/events` is served by a channel handler in front of the router,
                // which also owns the idle timeout (see ChannelRoutesHandler).
                configuration: .init(http1: .init(
                    additionalChannelHandlers: [ChannelRoutesInstaller(ChannelRoutesHandler(engine: engine, idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds))))],
                    idleTimeout: nil
                ))
            ),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "eddy",
                backlog: 1024,
                reuseAddress: true
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                onListening("\(configuration.host):\(port)")
            },
            logger: logger
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: application, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if configuration.engine.audit.intervalSeconds > 0 {
            // Listed last, so graceful shutdown stops it first.
            services.append(.init(service: BackgroundAuditor(engine: engine, interval: .seconds(configuration.engine.audit.intervalSeconds)), successTerminationBehavior: .ignore))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
