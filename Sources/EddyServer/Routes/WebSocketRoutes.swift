import EddyEngine
import EddyModel
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// `GET /v1/ws`: a two-way event stream. Each text message in is one event, as
/// `POST /v1/events` takes it, including `subscribe`, plus
/// `{"op":"unsubscribe","subscription":ID}`. Out come the results (tagged with the event's
/// `id`) and the subscriptions' messages (tagged with `subscription`), one JSON object per
/// text message. Events are pipelined: up to `eventsInFlightMax` run at once; past that the
/// connection stops reading until one finishes, so the client is slowed by TCP, never dropped.
struct WebSocketRoutes {
    let engine: Engine
    /// Events one connection may have running at once.
    static let eventsInFlightMax = 1024

    func router() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        let engine = self.engine
        router.ws("/v1/ws") { inbound, outbound, _ in
            let session = WebSocketSession(engine: engine)
            try await withGracefulShutdownHandler {
                try await session.run(inbound: inbound, outbound: outbound)
            } onGracefulShutdown: {
                session.shutDown()
            }
        }
        return router
    }
}

/// One WebSocket connection: its outbox (results and subscription messages share it, in the
/// order they are produced) and its subscriptions.
final class WebSocketSession: Sendable {
    private let engine: Engine
    private let outbox: SubscriptionOutbox
    private let subscriptions = Mutex<[String: Subscription]>([:])

    init(engine: Engine) {
        self.engine = engine
        outbox = SubscriptionOutbox(capacity: engine.configuration.subscriptions.bufferMessages)
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        defer {
            for subscription in subscriptions.withLock({ Array($0.values) }) { engine.unsubscribe(subscription) }
            outbox.close()
        }
        let outbox = self.outbox
        try await withThrowingTaskGroup(of: Void.self) { connection in
            connection.addTask {
                // `next()` answers a cancelled task at once, so the loop must stop on
                // cancellation or it would spin until the outbox closes.
                while !Task.isCancelled, let messages = await outbox.next() {
                    for message in messages {
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: message.json))))
                    }
                }
            }
            await withTaskGroup(of: Void.self) { events in
                var inFlight = 0
                do {
                    for try await message in inbound.messages(maxSize: engine.configuration.limits.bodyBytesMax) {
                        if inFlight >= WebSocketRoutes.eventsInFlightMax {
                            await events.next()
                            inFlight -= 1
                        }
                        inFlight += 1
                        events.addTask { await self.handle(message) }
                    }
                } catch {
                    // The client went away or sent a bad frame; finish what is running.
                }
                await events.waitForAll()
            }
            // Every result is in the outbox: the writer sends them, then stops.
            outbox.finish()
            try await connection.waitForAll()
        }
    }

    /// The server is stopping: stop sending, which ends the connection.
    func shutDown() {
        outbox.close()
    }

    private func handle(_ message: WebSocketMessage) async {
        let reply: [UInt8]
        switch message {
        case .binary:
            reply = EventResult.failure(EddyError(.invalidEvent, "send events as text messages of JSON"), id: nil).body
        case .text(let text):
            reply = await handle(text)
        }
        outbox.offer([.reply(reply)], force: true)
    }

    private func handle(_ text: String) async -> [UInt8] {
        let limits = engine.configuration.limits
        let json: JSON
        do {
            json = try JSON(parsing: Array(text.utf8), maxDepth: limits.jsonDepthMax)
        } catch {
            return EventResult.failure(EddyError(error), id: nil).body
        }
        if json["op"]?.stringValue == "unsubscribe" {
            return unsubscribe(json)
        }
        if case .array = json {
            return EventResult.failure(EddyError(.invalidEvent, "send one event per WebSocket message"), id: nil).body
        }
        let event: Event
        do {
            event = try Event(json: json, limits: limits)
        } catch {
            return EventResult.failure(error, id: json["id"]?.stringValue).body
        }
        guard event.op == .subscribe else { return await engine.handle(event).body }
        return await subscribe(event)
    }

    private func subscribe(_ event: Event) async -> [UInt8] {
        let perConnection = engine.configuration.subscriptions.perConnectionMax
        let refusal: EddyError? = subscriptions.withLock { open in
            if let id = event.id, open[id] != nil {
                return EddyError(.invalidID, "subscription '\(id)' is already open on this connection")
            }
            return open.count >= perConnection ? EddyError(.tooManySubscriptions, "this connection holds \(perConnection) subscriptions, its maximum") : nil
        }
        if let refusal { return EventResult.failure(refusal, id: event.id).body }
        switch await engine.subscribe(event, outbox: outbox) {
        case .failure(let error):
            return EventResult.failure(error, id: event.id).body
        case .success(let (subscription, position)):
            subscriptions.withLock { $0[subscription.id] = subscription }
            let body: JSON = ["id": .string(subscription.id), "ok": true, "subscription": .string(subscription.id), "position": .string(position.token)]
            return body.serialized()
        }
    }

    private func unsubscribe(_ json: JSON) -> [UInt8] {
        guard let id = json["subscription"]?.stringValue else {
            return EventResult.failure(EddyError(.missingField, "op 'unsubscribe' needs a string field 'subscription'"), id: json["id"]?.stringValue).body
        }
        guard let subscription = subscriptions.withLock({ $0.removeValue(forKey: id) }) else {
            return EventResult.failure(EddyError(.notFound, "no subscription '\(id)' is open on this connection"), id: json["id"]?.stringValue).body
        }
        engine.unsubscribe(subscription)
        var body: [String: JSON] = ["ok": true, "unsubscribed": .string(id)]
        if let requestID = json["id"] { body["id"] = requestID }
        return JSON.object(body).serialized()
    }
}
