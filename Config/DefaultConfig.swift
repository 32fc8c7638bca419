import Foundation

/// The configuration `eddy serve` uses when given no `--config`: `Config/eddy.yaml`,
/// copied into the binary's resource bundle at build time so the two never drift.
public enum DefaultConfig {
    public static func yaml() throws -> String {
        guard let url = Bundle.module.url(forResource: "eddy", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
