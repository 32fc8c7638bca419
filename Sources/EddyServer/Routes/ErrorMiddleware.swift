import EddyModel
import Hummingbird

/// Turns errors the router itself raises (no such route, wrong method) into Eddy's JSON
/// error shape, so every error a client sees has a stable code.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return JSONResponses.error(EddyError(.notFound, "no route for \(request.method) \(request.uri.path)"))
        } catch let error as HTTPError {
            let failure = EddyError(.invalidEvent, "\(error.status.code) \(error.status.reasonPhrase) for \(request.method) \(request.uri.path)")
            return JSONResponses.json(ResponseFailure.body(failure), status: error.status)
        } catch {
            return JSONResponses.error(EddyError(.internalError, "\(error)"))
        }
    }
}

private enum ResponseFailure {
    static func body(_ error: EddyError) -> [UInt8] {
        (["error": error.json, "ok": false] as JSON).serialized()
    }
}
