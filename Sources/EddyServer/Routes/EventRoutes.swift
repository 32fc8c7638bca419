import EddyEngine
import EddyModel
import Hummingbird
import NIOCore

/// `POST /v1/events`: one event object, or an array of them (a batch), as JSON.
struct EventRoutes {
    let engine: Engine

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/events") { request, _ -> Response in
            await handle(request)
        }
    }

    private func handle(_ request: Request) async -> Response {
        let limits = engine.configuration.limits
        let json: JSON
        switch await RequestBody.parse(request, limits: limits) {
        case .success(let parsed): json = parsed
        case .failure(let error): return JSONResponses.error(error)
        }
        guard case .array(let items) = json else {
            let event: Event
            do {
                event = try Event(json: json, limits: limits)
            } catch {
                return JSONResponses.error(error, id: json["id"]?.stringValue)
            }
            return JSONResponses.result(await engine.handle(event))
        }
        guard !items.isEmpty else { return JSONResponses.error(EddyError(.invalidEvent, "a batch must hold at least one event")) }
        guard items.count <= limits.batchEventsMax else {
            return JSONResponses.error(EddyError(.batchTooLarge, "a batch holds at most \(limits.batchEventsMax) events; this one has \(items.count)"))
        }
        // Invalid events get an error result in their place; the valid ones still run.
        var results = [EventResult?](repeating: nil, count: items.count)
        var valid: [(index: Int, event: Event)] = []
        for (index, item) in items.enumerated() {
            do {
                valid.append((index, try Event(json: item, limits: limits)))
            } catch {
                results[index] = .failure(error, id: item["id"]?.stringValue)
            }
        }
        let handled = await engine.handle(batch: valid.map(\.event))
        for (slot, result) in zip(valid, handled) { results[slot.index] = result }
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (index, result) in results.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: result!.body)
        }
        body.append(UInt8(ascii: "]"))
        return JSONResponses.json(body)
    }
}

/// Reads and parses a request body within the limits.
enum RequestBody {
    static func parse(_ request: Request, limits: Limits) async -> Result<JSON, EddyError> {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limits.bodyBytesMax)
        } catch is NIOTooManyBytesError {
            return .failure(EddyError(.bodyTooLarge, "request body is larger than \(limits.bodyBytesMax) bytes"))
        } catch {
            return .failure(EddyError(.malformedJSON, "request body could not be read: \(error)"))
        }
        do {
            let json = try buffer.withUnsafeReadableBytes { bytes throws(JSONParseError) in
                try JSON(parsing: bytes, maxDepth: limits.jsonDepthMax)
            }
            return .success(json)
        } catch {
            return .failure(EddyError(error))
        }
    }
}
