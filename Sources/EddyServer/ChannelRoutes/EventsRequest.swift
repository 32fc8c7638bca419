import EddyEngine
import EddyModel

/// What `POST /v1/events` does with a request body, apart from HTTP: parse one event or a
/// batch of them within the limits, hand them to the engine, and render the reply.
enum EventsRequest {
    /// Calls `reply` once: at once for a body that cannot run, otherwise from whichever
    /// thread finishes the events (see `Engine.submit`).
    static func handle(body: UnsafeRawBufferPointer, engine: Engine, reply: @escaping @Sendable (JSONReply) -> Void) {
        let limits = engine.configuration.limits
        let json: JSON
        do {
            json = try JSON(parsing: body, maxDepth: limits.jsonDepthMax)
        } catch {
            return reply(.error(EddyError(error)))
        }
        guard case .array(let items) = json else {
            let event: Event
            do {
                event = try Event(json: json, limits: limits)
            } catch {
                return reply(.error(error, id: json["id"]?.stringValue))
            }
            engine.submit([event]) { results in reply(.result(results[0])) }
            return
        }
        guard !items.isEmpty else { return reply(.error(EddyError(.invalidEvent, "a batch must hold at least one event"))) }
        guard items.count <= limits.batchEventsMax else {
            return reply(.error(EddyError(.batchTooLarge, "a batch holds at most \(limits.batchEventsMax) events; this one has \(items.count)")))
        }
        // Invalid events get an error result in their place; the valid ones still run.
        var invalid: [Int: EventResult] = [:]
        var valid: [(index: Int, event: Event)] = []
        for (index, item) in items.enumerated() {
            do {
                valid.append((index, try Event(json: item, limits: limits)))
            } catch {
                invalid[index] = .failure(error, id: item["id"]?.stringValue)
            }
        }
        let (count, slots, invalidResults) = (items.count, valid.map(\.index), invalid)
        engine.submit(valid.map(\.event)) { handled in
            var results = invalidResults
            for (index, result) in zip(slots, handled) { results[index] = result }
            var body: [UInt8] = [UInt8(ascii: "[")]
            for index in 0..<count {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: results[index]!.body)
            }
            body.append(UInt8(ascii: "]"))
            reply(JSONReply(body))
        }
    }

    static func bodyTooLarge(_ limits: Limits) -> JSONReply {
        .error(EddyError(.bodyTooLarge, "request body is larger than \(limits.bodyBytesMax) bytes"))
    }
}
