import EventLog
import Foundation

/// One read model as `Projections/<name>/` defines it (see Projections/README.md):
/// its DDL, the statements that apply a batch of events, and a version.
public struct ProjectionDefinition: Sendable, Equatable {
    public var name: String
    public var version: Int
    /// DDL with `{{schema}}` where the schema name goes.
    public var schemaSQL: String
    /// Statements run per batch, reading `batch_events`.
    public var applySQL: String
    /// Statements that refresh derived objects (materialized views), run
    /// outside the batch transactions, debounced; nil when there are none.
    public var refreshSQL: String?

    public init(name: String, version: Int, schemaSQL: String, applySQL: String, refreshSQL: String? = nil) {
        self.name = name
        self.version = version
        self.schemaSQL = schemaSQL
        self.applySQL = applySQL
        self.refreshSQL = refreshSQL
    }

    /// Changes whenever the SQL or the version changes: a live schema built
    /// from another fingerprint is stale.
    public var fingerprint: String {
        let text = "\(version)\u{0}\(schemaSQL)\u{0}\(applySQL)"
        return String(CRC32C.checksum(Array(text.utf8)), radix: 16)
    }

    public func schemaSQL(in schema: String) -> String { Self.render(schemaSQL, schema: schema) }
    public func applySQL(in schema: String) -> String { Self.render(applySQL, schema: schema) }
    public func refreshSQL(in schema: String) -> String? { refreshSQL.map { Self.render($0, schema: schema) } }

    static func render(_ sql: String, schema: String) -> String {
        sql.replacingOccurrences(of: "{{schema}}", with: quoteIdentifier(schema))
    }
}

/// A SQL identifier in double quotes, inner quotes doubled.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// The projections of a `Projections/` directory, in name order.
public struct ProjectionCatalog: Sendable {
    public var definitions: [ProjectionDefinition]

    /// Names are SQL-safe and short: they become schema names, and the
    /// rebuild's shadow schema adds a suffix to them.
    static let nameCharactersMax = 40

    public init(definitions: [ProjectionDefinition]) {
        self.definitions = definitions.sorted { $0.name < $1.name }
    }

    public init(directory: String) throws(ProjectorError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw ProjectorError(code: .definitionInvalid, location: directory, reason: "cannot list: \(error.localizedDescription)")
        }
        var definitions: [ProjectionDefinition] = []
        for name in names {
            let folder = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue,
                  FileManager.default.fileExists(atPath: folder + "/apply.sql") else { continue }
            definitions.append(try Self.load(name: name, folder: folder))
        }
        guard !definitions.isEmpty else { throw ProjectorError(code: .definitionInvalid, location: directory, reason: "no projections (folders with apply.sql)") }
        self.init(definitions: definitions)
    }

    private static func load(name: String, folder: String) throws(ProjectorError) -> ProjectionDefinition {
        guard name.count <= nameCharactersMax, name.first?.isLetter == true,
              name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }) else {
            throw ProjectorError(code: .definitionInvalid, location: folder, reason: "a projection name is lower-case letters, digits and _, at most \(nameCharactersMax) characters, starting with a letter")
        }
        func read(_ file: String) throws(ProjectorError) -> String {
            guard let data = FileManager.default.contents(atPath: folder + "/" + file),
                  let text = String(data: data, encoding: .utf8) else {
                throw ProjectorError(code: .definitionInvalid, location: folder + "/" + file, reason: "missing or not UTF-8")
            }
            return text
        }
        let versionText = try read("version").trimmingCharacters(in: .whitespacesAndNewlines)
        guard let version = Int(versionText), version >= 1 else {
            throw ProjectorError(code: .definitionInvalid, location: folder + "/version", reason: "must hold a positive integer, found \"\(versionText)\"")
        }
        let refresh = FileManager.default.fileExists(atPath: folder + "/refresh.sql") ? try read("refresh.sql") : nil
        return ProjectionDefinition(name: name, version: version, schemaSQL: try read("schema.sql"), applySQL: try read("apply.sql"), refreshSQL: refresh)
    }

    public func definition(named name: String) -> ProjectionDefinition? {
        definitions.first { $0.name == name }
    }

    /// Finds `Projections/`: `$CAREERLOG_PROJECTIONS_DIR`, else walking up
    /// from the executable and from the current directory.
    public static func bundledDirectory() -> String? {
        if let env = ProcessInfo.processInfo.environment["CAREERLOG_PROJECTIONS_DIR"], !env.isEmpty { return env }
        let starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
                      URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        for start in starts {
            var url = start
            for _ in 0..<8 {
                let candidate = url.appendingPathComponent("Projections")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("README.md").path) { return candidate.path }
                url.deleteLastPathComponent()
            }
        }
        return nil
    }
}
