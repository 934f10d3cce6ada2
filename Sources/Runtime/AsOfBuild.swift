import EventLog
import Foundation
import Logging
import Projector
import Replay
import StoredEventCodec

/// The one entry point of as-of builds: `careerlog replay --into PREFIX
/// --as-of T` (schemas kept) and `careerlog report --as-of T` (temporary
/// schemas, dropped after). The projector's `ProjectionBuilder.buildAsOf`
/// does the building.
public enum AsOfBuild {
    /// Builds every read model of `catalog` as of `request` into schemas
    /// `<prefix>_<projection>`; returns their names.
    public static func run(
        _ request: AsOfRequest, url: String, log: EventLog, catalog: ProjectionCatalog, logger: Logger,
        pii: RecordOpener? = nil, progress: (BuildProgress) -> Void = { _ in }
    ) throws -> [String] {
        var options = ProjectionBuilder.Options()
        options.pii = pii
        let builder = ProjectionBuilder(url: url, log: log, catalog: catalog, logger: logger, options: options)
        return try builder.buildAsOf(into: request.prefix, untilSeq: request.untilSeq, untilTime: request.untilTime, progress: progress)
    }

    /// The dashboard's figures as of `time`: every read model built into
    /// schemas under a fresh prefix, the figures read from its analytics
    /// copy, and the schemas dropped again, whether the build succeeded or not.
    public static func reportData(asOf time: String, url: String, logDirectory: String, catalog: ProjectionCatalog, logger: Logger) throws -> [String: String] {
        // report_ + up to 7 base-36 digits: within AsOfRequest.prefixCharactersMax (20).
        let prefix = "report_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let request = try AsOfRequest(prefix: prefix, asOf: time, asOfSeq: nil)
        let log = try EventLog.open(directory: logDirectory, mode: .readOnly)
        defer {
            for definition in catalog.definitions { try? ProjectionBuilder.drop(url: url, schema: "\(prefix)_\(definition.name)") }
        }
        _ = try run(request, url: url, log: log, catalog: catalog, logger: logger)
        return try AnalyticsAPI.reportData(url: url, schema: "\(prefix)_analytics")
    }
}
