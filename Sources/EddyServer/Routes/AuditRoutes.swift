import EddyEngine
import EddyModel
import Hummingbird

/// `POST /v1/audit` runs an online audit and answers with its report; `GET /v1/audit`
/// answers with the last one. The status is 200 whether or not the audit holds: `ok` says.
struct AuditRoutes {
    let engine: Engine

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/audit") { _, _ -> Response in
            switch await engine.audit(trigger: .request) {
            case .success(let run): JSONResponses.json(run.json.serialized())
            case .failure(let error): JSONResponses.error(error)
            }
        }
        router.get("/v1/audit") { _, _ -> Response in
            guard let run = engine.lastAudit else {
                return JSONResponses.error(EddyError(.notFound, "no audit has finished since the server started; POST /v1/audit runs one"))
            }
            return JSONResponses.json(run.json.serialized())
        }
    }
}
