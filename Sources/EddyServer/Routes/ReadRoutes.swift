import EddyEngine
import EddyModel
import Hummingbird

/// Read routes for curl and browsers. They build the same `get` and `scan` events that
/// `POST /v1/events` takes, so reads are logged either way.
///
/// `GET /v1/tables/{table}/{key}?client=&after=` and `GET /v1/tables/{table}?prefix=&limit=&client=&after=`.
struct ReadRoutes {
    let engine: Engine

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/tables/:table/:key") { request, context -> Response in
            var object: [String: JSON] = ["op": "get"]
            object["table"] = context.parameters.get("table").map(JSON.string)
            object["key"] = context.parameters.get("key").map { .string($0.removingPercentEncoding ?? $0) }
            return await run(object, request)
        }
        router.get("/v1/tables/:table") { request, context -> Response in
            var object: [String: JSON] = ["op": "scan"]
            object["table"] = context.parameters.get("table").map(JSON.string)
            if let prefix = request.uri.queryParameters.get("prefix") { object["prefix"] = .string(prefix) }
            if let limit = request.uri.queryParameters.get("limit") {
                guard let number = Double(limit) else {
                    return JSONResponses.error(EddyError(.wrongType, "query parameter 'limit' must be a whole number"))
                }
                object["limit"] = .number(number)
            }
            return await run(object, request)
        }
    }

    private func run(_ fields: [String: JSON], _ request: Request) async -> Response {
        var object = fields
        for name in ["client", "after", "id"] {
            if let value = request.uri.queryParameters.get(name) { object[name] = .string(value) }
        }
        do {
            let event = try Event(json: .object(object), limits: engine.configuration.limits)
            return JSONResponses.result(await engine.handle(event))
        } catch {
            return JSONResponses.error(error)
        }
    }
}
