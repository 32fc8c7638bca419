import EddyModel
import Crypto

/// `get`: a one-off read, a transient join of the read event with the partition's state at
/// its place in the log. Its read record names the write that produced the answer.
enum GetOperation: Operation {
    static func handle(_ event: Event, state: StateView, limits: Limits) throws -> Handled {
        let stored = try state.get(table: event.table, key: event.key!)
        let answer = Answer.document(stored?.json)
        let source = ReadRecord.Source(table: event.table, key: event.key!, producedAt: stored?.producedAt ?? 0)
        return Handled(outcome: .read(readRecord(event, answer, sources: [source])), answer: answer)
    }

    /// The read record of `answer`. Given the event, a client-chosen ID keeps the answer itself.
    static func readRecord(_ event: Event?, _ answer: Answer, sources: [ReadRecord.Source]) -> ReadRecord {
        let canonical = answer.canonicalBytes
        return ReadRecord(
            digest: Array(SHA256.hash(data: canonical)),
            sources: sources,
            // A client-chosen ID promises the first answer on retry, so keep the answer itself.
            answer: event?.id.map { $0.first != Event.serverIDMarker } == true ? canonical : nil
        )
    }
}
