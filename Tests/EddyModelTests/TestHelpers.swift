import EddyModel

/// Parses `text` and returns the error it throws, or nil if it parsed.
func parseFailure(_ text: String, maxDepth: Int = 32) -> JSONParseError? {
    parseFailure(Array(text.utf8), maxDepth: maxDepth)
}

/// Parses `bytes` and returns the error it throws, or nil if it parsed.
func parseFailure(_ bytes: [UInt8], maxDepth: Int = 32) -> JSONParseError? {
    do throws(JSONParseError) {
        _ = try JSON(parsing: bytes, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

/// `depth` nested arrays around an empty innermost one: depth 1 is `[]`.
func nestedArrays(depth: Int) -> String {
    String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
}

/// `depth` nested objects: depth 1 is `{}`, depth 2 is `{"a":{}}`.
func nestedObjects(depth: Int) -> String {
    String(repeating: "{\"a\":", count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
}
