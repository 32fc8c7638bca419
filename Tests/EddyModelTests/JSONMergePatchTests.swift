import Testing
import EddyModel

@Suite struct JSONMergePatchTests {
    /// RFC 7396 Appendix A, every example: (original, patch, result).
    @Test(arguments: [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, #"null"#, #"null"#),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ])
    func mergePatch_rfc7396AppendixA(original: String, patch: String, result: String) throws {
        let patched = try JSON(parsing: original).mergePatched(with: try JSON(parsing: patch))
        #expect(patched == (try JSON(parsing: result)))
    }

    @Test func mergePatch_whenTargetIsScalarAndPatchIsObject_startsFromEmptyObject() {
        #expect(JSON.number(1).mergePatched(with: ["a": 1, "b": nil]) == ["a": 1])
        #expect(JSON.null.mergePatched(with: ["a": ["b": nil]]) == ["a": [:]])
    }

    @Test func mergePatch_deletingMissingKey_isNoOp() {
        #expect((["a": 1] as JSON).mergePatched(with: ["zzz": nil]) == ["a": 1])
    }

    @Test func mergePatch_emptyObjectPatch_leavesObjectUnchangedButReplacesNonObject() {
        #expect((["a": [1]] as JSON).mergePatched(with: [:]) == ["a": [1]])
        #expect(([1, 2] as JSON).mergePatched(with: [:]) == [:])
    }

    @Test func mergePatch_doesNotMutateOriginal() {
        let original: JSON = ["a": ["b": 1]]
        _ = original.mergePatched(with: ["a": ["b": 2]])
        #expect(original == ["a": ["b": 1]])
    }
}
