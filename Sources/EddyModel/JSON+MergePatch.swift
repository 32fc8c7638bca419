extension JSON {
    /// Applies `patch` to this value as a JSON Merge Patch (RFC 7396) and returns the result.
    ///
    /// A non-object patch replaces the target outright; in an object patch a `null` member
    /// deletes that key and any other member is merged recursively. When the target is not an
    /// object, an object patch is applied to `{}`. As a consequence a merge patch can never
    /// set a member to `null` or patch inside an array: those need a full replacement.
    public func mergePatched(with patch: JSON) -> JSON {
        guard case .object(let patchMembers) = patch else { return patch }
        var result: [String: JSON]
        if case .object(let targetMembers) = self {
            result = targetMembers
        } else {
            result = [:]
        }
        for (key, patchValue) in patchMembers {
            if patchValue.isNull {
                result.removeValue(forKey: key)
            } else {
                // A missing member behaves like a non-object target: `.null` gives exactly that.
                result[key] = (result[key] ?? .null).mergePatched(with: patchValue)
            }
        }
        return .object(result)
    }
}
