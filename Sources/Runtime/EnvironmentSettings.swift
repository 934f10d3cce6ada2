import Foundation

/// The settings careerlog takes from the environment when no option gives
/// them, read in one place so that `serve`, `status` and the commands that
/// need PostgreSQL agree on names and on what counts as unset (an empty
/// value is unset).
public enum EnvironmentSettings {
    /// `CAREERLOG_HTTP_TOKEN`: the bearer token `serve`'s HTTP window
    /// requires and `status` sends.
    public static func httpReadToken(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        nonEmpty(environment["CAREERLOG_HTTP_TOKEN"])
    }

    /// `--database-url` when given, else `DATABASE_URL`; nil when neither
    /// is set (the private cluster is used).
    public static func databaseURL(option: String?, _ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        nonEmpty(option) ?? nonEmpty(environment["DATABASE_URL"])
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
