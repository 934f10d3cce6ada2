import CareerEvents
import Foundation

/// The CSV columns of each event type's `data`, taken from the event
/// schemas (`EventSchemas/<type>.v<N>.json`), so every file's header is
/// known before its first row and is the same whatever slice is exported.
///
/// A schema's properties become columns in the schema's order; an object
/// property with `properties` of its own (directly or through `$ref`) is
/// flattened with dotted names, anything else (strings, numbers, arrays,
/// free-form objects) is one column:
///
///     placement.recorded.v1.json               columns
///     application_id  uuid                     application_id
///     salary          money {amount, currency} salary.amount, salary.currency
///     start_date      date                     start_date
///
/// A type with several versions gets the union (v1's columns, then what
/// later versions add), so one file holds them all. Why not the keys seen
/// in the data: a streamed export cannot know them before the first row, and
/// the first rows need not carry every optional field.
public struct DataColumns: Sendable, Equatable {
    /// type -> column names (without the `data.` prefix of the CSV header).
    public private(set) var columnsByType: [String: [String]]

    public init(columnsByType: [String: [String]]) {
        self.columnsByType = columnsByType
    }

    /// The types that have a schema, sorted.
    public var types: [String] { columnsByType.keys.sorted() }

    /// Reads every `*.json` in `directory` (the same folder `SchemaRegistry`
    /// loads and validates; this only reads the shape of `properties`).
    public static func load(directory: String) throws(ReplayError) -> DataColumns {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw ReplayError(.io, "cannot list the schema directory \(directory): \(error.localizedDescription)")
        }
        var documents: [String: JSONValue] = [:]
        for name in names {
            guard let bytes = FileManager.default.contents(atPath: directory + "/" + name),
                  let json = try? JSONParser.parse([UInt8](bytes)) else {
                throw ReplayError(.io, "cannot read the schema \(directory)/\(name) as JSON")
            }
            documents[name] = json
        }
        return try DataColumns(documents: documents)
    }

    /// From schema documents keyed by file name (for tests and `load`).
    public init(documents: [String: JSONValue]) throws(ReplayError) {
        var versions: [String: [(version: Int, file: String)]] = [:]
        for name in documents.keys {
            guard let (type, version) = Self.eventFileName(name) else { continue }
            versions[type, default: []].append((version, name))
        }
        var columns: [String: [String]] = [:]
        for (type, files) in versions {
            var union: [String] = []
            for file in files.sorted(by: { $0.version < $1.version }) {
                var flattener = SchemaFlattener(documents: documents)
                let found = try flattener.columns(of: documents[file.file]!, in: file.file)
                for column in found where !union.contains(column) { union.append(column) }
            }
            columns[type] = union
        }
        self.columnsByType = columns
    }

    /// `skill.assessed.v1.json` -> ("skill.assessed", 1); nil for other names.
    static func eventFileName(_ name: String) -> (type: String, version: Int)? {
        guard name.hasSuffix(".json") else { return nil }
        let stem = name.dropLast(5)
        guard let dot = stem.lastIndex(of: "."), stem[stem.index(after: dot)...].first == "v",
              let version = Int(stem[stem.index(dot, offsetBy: 2)...]), version >= 1 else { return nil }
        return (String(stem[..<dot]), version)
    }
}

/// Walks a schema's `properties` through `$ref`s into column names.
private struct SchemaFlattener {
    let documents: [String: JSONValue]

    mutating func columns(of schema: JSONValue, in file: String) throws(ReplayError) -> [String] {
        var out: [String] = []
        guard let properties = try objectProperties(schema, file: file, depth: 0) else {
            throw ReplayError(.csvColumns, "the schema \(file) has no `properties` at its root")
        }
        for (key, child) in properties.object.members {
            try flatten(child, file: properties.file, name: key, depth: 1, into: &out)
        }
        return out
    }

    private func flatten(_ schema: JSONValue, file: String, name: String, depth: Int, into out: inout [String]) throws(ReplayError) {
        guard let nested = try objectProperties(schema, file: file, depth: depth) else {
            out.append(name)
            return
        }
        for (key, child) in nested.object.members {
            try flatten(child, file: nested.file, name: name + "." + key, depth: depth + 1, into: &out)
        }
    }

    /// The `properties` of `schema` after following `$ref`s, with the file
    /// they were found in (a `$ref` inside it resolves against that file).
    private func objectProperties(_ schema: JSONValue, file: String, depth: Int) throws(ReplayError) -> (object: JSONObject, file: String)? {
        guard depth <= ReplayLimits.schemaDepthMax else {
            throw ReplayError(.limit, "the schema \(file) nests deeper than \(ReplayLimits.schemaDepthMax) levels (a $ref cycle?)")
        }
        guard case .object(let object) = schema else { return nil }
        if case .object(let properties)? = object["properties"] { return (properties, file) }
        guard case .string(let ref)? = object["$ref"] else { return nil }
        let (target, targetFile) = try resolve(ref, from: file)
        return try objectProperties(target, file: targetFile, depth: depth + 1)
    }

    /// `../defs.json#/$defs/money` or `#/$defs/amount`: the file is named by
    /// its last path component (every schema lives in one folder), the
    /// fragment is a JSON Pointer.
    private func resolve(_ ref: String, from file: String) throws(ReplayError) -> (JSONValue, String) {
        let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let target = parts[0].isEmpty ? file : String(parts[0].split(separator: "/").last ?? "")
        guard var node = documents[target] else {
            throw ReplayError(.csvColumns, "the schema \(file) refers to \(ref), whose file is not in the schema directory")
        }
        let pointer = parts.count > 1 ? parts[1] : ""
        for token in pointer.split(separator: "/") {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard case .object(let object) = node, let next = object[key] else {
                throw ReplayError(.csvColumns, "the schema \(file) refers to \(ref), which does not exist")
            }
            node = next
        }
        return (node, target)
    }
}
