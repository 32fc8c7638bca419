import EddyEngine
import EddyModel
import Foundation
import Hummingbird

/// Provenance, read from the log:
/// - `GET /v1/provenance/{id}?depth=N`: what an event did or saw, the writes behind what it
///   read (as it was then), and the same for its `causedBy`, to `depth` levels (default 3);
/// - `GET /v1/provenance?client=C&from=MS&to=MS&limit=N`: the reads a client made.
struct ProvenanceRoutes {
    let engine: Engine
    static let depthMax = 10
    static let readsLimitMax = 1000

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/provenance/:id") { request, context -> Response in
            let id = context.parameters.get("id").map { $0.removingPercentEncoding ?? $0 } ?? ""
            guard !id.isEmpty else { return JSONResponses.error(EddyError(.missingField, "give the event ID in the path")) }
            let depth: Int
            switch number(request, "depth", default: 3, in: 0...Self.depthMax) {
            case .success(let value): depth = value
            case .failure(let error): return JSONResponses.error(error)
            }
            return respond(await engine.provenance(of: id, depth: depth))
        }
        router.get("/v1/provenance") { request, _ -> Response in
            guard let client = request.uri.queryParameters.get("client"), !client.isEmpty else {
                return JSONResponses.error(EddyError(.missingField, "give an event ID (/v1/provenance/ID) or a client (?client=NAME)"))
            }
            let now = Int(Date().timeIntervalSince1970 * 1000) + 1
            let from, to, limit: Int
            switch (number(request, "from", default: 0, in: 0...Int.max), number(request, "to", default: now, in: 0...Int.max),
                    number(request, "limit", default: 100, in: 1...Self.readsLimitMax)) {
            case (.success(let a), .success(let b), .success(let c)): (from, to, limit) = (a, b, c)
            case (.failure(let error), _, _), (_, .failure(let error), _), (_, _, .failure(let error)): return JSONResponses.error(error)
            }
            return respond(await engine.reads(ofClient: client, fromMs: UInt64(from), toMs: UInt64(to), limit: limit))
        }
    }

    private func respond(_ result: Result<JSON, EddyError>) -> Response {
        switch result {
        case .success(let json):
            if json["found"]?.boolValue == false {
                let message = json["message"]?.stringValue ?? "not found"
                return JSONResponses.error(EddyError(json["expired"]?.boolValue == true ? .provenanceExpired : .notFound, message))
            }
            var body = json
            if case .object(var object) = json {
                object["ok"] = true
                body = .object(object)
            }
            return JSONResponses.json(body.serialized())
        case .failure(let error):
            return JSONResponses.error(error)
        }
    }

    private func number(_ request: Request, _ name: String, default value: Int, in range: ClosedRange<Int>) -> Result<Int, EddyError> {
        guard let text = request.uri.queryParameters.get(name) else { return .success(value) }
        guard let number = Int(text), range.contains(number) else {
            return .failure(EddyError(.wrongType, "query parameter '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)"))
        }
        return .success(number)
    }
}
