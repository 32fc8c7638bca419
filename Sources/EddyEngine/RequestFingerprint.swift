import EddyModel

/// A short hash of what an event asks for, kept with its request ID, so a client that reuses
/// an ID for a different event is told (`id_reused`) instead of silently getting the first
/// event's result. Fields that do not change the effect (`after`, `client`, `causedBy`) are
/// left out, so an honest retry always matches; so are the declarations version and a query's
/// gathered parts, which are the server's doing, not the client's: a retry after a
/// declaration changed is still the same request, and gets its first answer. Which fields
/// count is `Event.CanonicalForm.essence`.
enum RequestFingerprint {
    static func of(_ event: Event) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in event.canonicalJSON(.essence) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}
