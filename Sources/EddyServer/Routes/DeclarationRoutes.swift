import EddyEngine
import EddyModel
import Hummingbird
import NIOCore

/// `PUT /v1/declarations` (body: queries and/or procedures in the configuration file's YAML
/// format; `?id=` for a retry-safe request) adds or replaces declarations at run time, as a
/// logged `declare` event. `GET /v1/declarations` shows the current version and names.
struct DeclarationRoutes {
    let engine: Engine

    func register(on router: Router<BasicRequestContext>) {
        router.put("/v1/declarations") { request, _ -> Response in
            let limits = engine.configuration.limits
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: limits.bodyBytesMax)
            } catch {
                return JSONResponses.error(EddyError(.bodyTooLarge, "declarations are larger than \(limits.bodyBytesMax) bytes"))
            }
            var object: [String: JSON] = ["op": "declare", "source": .string(String(decoding: buffer.readableBytesView, as: UTF8.self))]
            if let id = request.uri.queryParameters.get("id") { object["id"] = .string(id) }
            let event: Event
            do throws(EddyError) {
                event = try Event(json: .object(object), limits: limits)
            } catch {
                return JSONResponses.error(error)
            }
            return JSONResponses.result(await engine.handle(event))
        }
        router.get("/v1/declarations") { _, _ -> Response in
            JSONResponses.json(engine.declarationSummary().serialized())
        }
    }
}
