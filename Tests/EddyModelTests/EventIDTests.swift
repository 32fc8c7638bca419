import EddyModel
import Testing

/// Which client request IDs an event may carry: the server reserves a leading `@` (its own
/// IDs) and `/@` anywhere (IDs it derives from a request), and NUL is never allowed.
@Suite struct EventIDTests {
    private func idError(_ id: String) -> EddyError? {
        do throws(EddyError) {
            _ = try Event(json: ["id": .string(id), "op": "put", "table": "t", "key": "k", "value": 1], limits: Limits())
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: ["a", "order-1", "a/b", "a@b", "a/b@c", "x@", "é/ü", String(repeating: "x", count: 128)])
    func acceptsIDs(_ id: String) {
        #expect(idError(id) == nil, "\(id)")
    }

    @Test(arguments: ["", "@0-1-1", "@", "req/@lookup", "a/@", "/@", "a\u{0}b", String(repeating: "x", count: 129), "ü" + String(repeating: "x", count: 127)])
    func rejectsIDs(_ id: String) {
        #expect(idError(id)?.code == .invalidID, "\(id.debugDescription)")
    }
}
