#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The event schemas of `EventSchemas/`, compiled, and the check every event's
/// `data` goes through before it is appended.
///
///     EventSchemas/
///       defs.json                  shared definitions ($id .../schemas/defs.json)
///       skill.assessed.v1.json     <type>.v<dataversion>.json, $id .../schemas/skill.assessed/1
///       ...                        any other *.json: more shared definitions (needs a $id)
///
/// All files compile together into one program, so a definition used by many
/// types is compiled once. Loading checks each event schema against the
/// project's conventions as well as JSON Schema: the `$id` matches the file
/// name, the root is an object schema, every object level says
/// `"additionalProperties": false` (the catalog rejects unknown fields), and
/// keywords are ones this validator knows (a typo fails the load instead of
/// silently allowing everything).
public final class SchemaRegistry: Sendable {
    /// Where schema `$id`s live; an event schema's `$id` is this plus
    /// "<type>/<version>", so `../defs.json` resolves to the shared file.
    public static let idPrefix = "https://careerlog.dev/schemas/"
    /// Bounds a schema file's size (the largest real one is a few KB).
    public static let fileBytesMax = 1 << 20
    /// Bounds how many files one directory may hold.
    public static let filesMax = 1_000
    /// Bounds the versions of one type (versions index an array).
    public static let versionMax = 1_000

    private struct EventSchema: Sendable {
        let schema: JSONSchema
        let piiFields: [String]
    }

    /// type -> schema per version (index = version; nil where none).
    private let schemas: [String: [EventSchema?]]

    /// Loads every `*.json` in `directory`. A file that cannot be read,
    /// parsed or compiled stops the load with its name and the reason.
    public convenience init(directory: String) throws(SchemaLoadError) {
        let fileManager = FileManager.default
        let names: [String]
        do {
            names = try fileManager.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw SchemaLoadError(file: directory, reason: "cannot list the schema directory: \(error)")
        }
        guard names.count <= Self.filesMax else {
            throw SchemaLoadError(file: directory, reason: "more than \(Self.filesMax) schema files")
        }
        let root = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var documents: [(name: String, json: JSONValue, uri: String?)] = []
        for name in names {
            let path = root + "/" + name
            // Check the size before reading, so a stray huge file cannot be
            // pulled into memory.
            let size = (try? fileManager.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            guard let size, size <= Self.fileBytesMax else {
                throw SchemaLoadError(file: name, reason: size == nil
                    ? "cannot read \(path)" : "larger than \(Self.fileBytesMax) bytes")
            }
            guard let data = fileManager.contents(atPath: path) else {
                throw SchemaLoadError(file: name, reason: "cannot read \(path)")
            }
            let json: JSONValue
            do {
                json = try JSONParser.parse([UInt8](data))
            } catch {
                throw SchemaLoadError(file: name, reason: "not valid JSON: \(error)")
            }
            let absolute = path.hasPrefix("/") ? path : fileManager.currentDirectoryPath + "/" + path
            documents.append((name, json, "file://" + Self.percentEncodedPath(absolute)))
        }
        try self.init(documents: documents, source: directory)
    }

    /// Loads schema documents given as (file name, parsed JSON); the names
    /// follow the directory's rules. For tests and embedded use.
    public convenience init(documents: [(name: String, json: JSONValue)]) throws(SchemaLoadError) {
        try self.init(documents: documents.map { ($0.name, $0.json, nil) }, source: "(documents)")
    }

    /// `source` names the whole set in errors that concern no single file.
    private init(documents: [(name: String, json: JSONValue, uri: String?)], source: String) throws(SchemaLoadError) {
        var compiler = SchemaCompiler(options: .strict)
        var events: [(type: String, version: Int, document: Int)] = []
        var shared: [Int] = []
        for document in documents {
            let index = try compiler.add(document.json, name: document.name, retrievalURI: document.uri)
            if let (type, version) = Self.eventFileName(document.name) {
                try Self.checkEventConventions(document.json, type: type, version: version, file: document.name)
                events.append((type, version, index))
            } else {
                guard case .object(let object) = document.json, case .string? = object["$id"] else {
                    throw SchemaLoadError(file: document.name, reason:
                        "not named <type>.v<version>.json, so it is a shared definitions file, which needs a $id")
                }
                shared.append(index)
            }
        }
        guard !events.isEmpty else {
            throw SchemaLoadError(file: source, reason: "no event schema (<type>.v<version>.json) found")
        }
        var roots: [(type: String, version: Int, root: Int)] = []
        for event in events {
            roots.append((event.type, event.version, try compiler.compileRoot(of: event.document)))
        }
        for document in shared { try compiler.compileDefinitions(of: document) }

        let program = compiler.finish()
        var schemas: [String: [EventSchema?]] = [:]
        for root in roots {
            var versions = schemas[root.type] ?? []
            if versions.count <= root.version { versions += Array(repeating: nil, count: root.version + 1 - versions.count) }
            versions[root.version] = EventSchema(
                schema: JSONSchema(program: program, root: root.root),
                piiFields: Self.piiPaths(program, root: root.root))
            schemas[root.type] = versions
        }
        self.schemas = schemas
    }

    /// Finds `EventSchemas/`: `$CAREERLOG_SCHEMA_DIR` when set, else the first
    /// `EventSchemas` directory found walking up from the executable's
    /// directory, then from the current directory.
    public static func bundledDirectory() -> String? {
        if let configured = ProcessInfo.processInfo.environment["CAREERLOG_SCHEMA_DIR"], !configured.isEmpty {
            return configured
        }
        let fileManager = FileManager.default
        var starts: [String] = []
        if let executable = try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(executable)
        }
        if let first = CommandLine.arguments.first, first.contains("/") {
            starts.append(first.hasPrefix("/") ? first : fileManager.currentDirectoryPath + "/" + first)
        }
        starts.append(fileManager.currentDirectoryPath + "/.")
        for start in starts {
            var directory = Substring(start)
            // Walk up at most this many levels (a build directory is ~4 deep).
            for _ in 0..<16 {
                guard let slash = directory.lastIndex(of: "/") else { break }
                directory = directory[..<slash]
                let candidate = (directory.isEmpty ? "" : String(directory)) + "/EventSchemas"
                if (try? fileManager.contentsOfDirectory(atPath: candidate)) != nil { return candidate }
                if directory.isEmpty { break }
            }
        }
        return nil
    }

    /// Known event types, sorted.
    public var types: [String] { schemas.keys.sorted() }

    /// The `dataversion`s of `type`, ascending; empty for an unknown type.
    public func versions(of type: String) -> [Int] {
        guard let versions = schemas[type] else { return [] }
        return versions.indices.filter { versions[$0] != nil }
    }

    /// The compiled schema of one type and version.
    public func schema(type: String, version: Int) -> JSONSchema? {
        lookup(type, version)?.schema
    }

    /// JSON paths of the fields marked `x-pii`, in schema order ("email",
    /// "location.city"; array items as "items[]"); empty for an unknown type.
    public func piiFields(type: String, version: Int) -> [String] {
        lookup(type, version)?.piiFields ?? []
    }

    /// Checks `envelope.data` against its type's schema.
    ///
    /// - unknown type: `.unknownType` at path "type";
    /// - known type without that version: `.schema` at path "dataversion";
    /// - data breaks the schema: `.schema` at "data.<path>" with the first
    ///   violation (deterministic: see `SchemaProgram.check`).
    public func validate(_ envelope: Envelope) throws(EventError) {
        try validate(type: envelope.type, version: envelope.dataVersion, data: envelope.data,
                     id: { UUIDText.string(envelope.id) })
    }

    /// `validate(_:)` for a `data` object not yet in an envelope.
    public func validate(type: String, version: Int, data: JSONObject) throws(EventError) {
        try validate(type: type, version: version, data: data, id: { nil })
    }

    private func validate(type: String, version: Int, data: JSONObject, id: () -> String?) throws(EventError) {
        guard let versions = schemas[type] else {
            throw EventError(code: .unknownType, path: "type",
                             reason: "unknown event type (the \(schemas.count) known types are in EventSchemas/README.md)",
                             id: id())
        }
        guard version >= 0, version < versions.count, let event = versions[version] else {
            let known = versions.indices.filter { versions[$0] != nil }.map(String.init).joined(separator: ", ")
            throw EventError(code: .schema, path: "dataversion",
                             reason: "\(type) has no dataversion \(version) (known: \(known))", id: id())
        }
        if let violation = event.schema.validate(.object(data)) {
            throw EventError(code: .schema, path: violation.pathString(root: "data"), reason: violation.reason, id: id())
        }
        if let path = Self.pathOfNULCharacter(in: .object(data), path: "data") {
            throw EventError(code: .schema, path: path,
                             reason: "contains the character U+0000, which PostgreSQL text (the read models) cannot hold", id: id())
        }
    }

    /// The path of the first string (or key) holding U+0000, if any. JSON
    /// allows it (as \\u0000); PostgreSQL's text and jsonb do not, so an event
    /// carrying one would stop every projection. On the ingest hot path: the
    /// walk allocates nothing unless it finds one.
    static func pathOfNULCharacter(in value: JSONValue, path: String) -> String? {
        guard let reversed = nulPathReversed(value) else { return nil }
        return reversed.reversed().reduce(path, +)
    }

    /// The path components to the first NUL, innermost first.
    private static func nulPathReversed(_ value: JSONValue) -> [String]? {
        switch value {
        case .string(let text):
            return containsNUL(text) ? [] : nil
        case .array(let items):
            for (i, item) in items.enumerated() {
                if var found = nulPathReversed(item) {
                    found.append("[\(i)]")
                    return found
                }
            }
            return nil
        case .object(let object):
            for member in object.members {
                if containsNUL(member.key) { return [] }
                if var found = nulPathReversed(member.value) {
                    found.append(".\(member.key)")
                    return found
                }
            }
            return nil
        case .null, .bool, .number:
            return nil
        }
    }

    private static func containsNUL(_ text: String) -> Bool {
        withUTF8(text) { bytes in bytes.count > 0 && memchr(bytes.baseAddress!, 0, bytes.count) != nil }
    }

    private func lookup(_ type: String, _ version: Int) -> EventSchema? {
        guard let versions = schemas[type], version >= 0, version < versions.count else { return nil }
        return versions[version]
    }

    // MARK: Loading rules

    /// A file path as a URI path: bytes other than unreserved characters and
    /// '/' percent-encoded, so '#', '?' or spaces in a directory name cannot
    /// change how the URI parses.
    static func percentEncodedPath(_ path: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in path.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// "skill.assessed.v1.json" -> ("skill.assessed", 1); nil for other names.
    static func eventFileName(_ name: String) -> (type: String, version: Int)? {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts.removeLast() == "json" else { return nil }
        let versionPart = parts.removeLast()
        let digits = versionPart.dropFirst()
        guard versionPart.first == "v", let first = digits.first, first != "0", digits.count <= 4,
              digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int(digits), version <= versionMax
        else { return nil }
        let type = parts.joined(separator: ".")
        guard isEventTypeName(Substring(type)) else { return nil }
        return (type, version)
    }

    /// Lower-case dotted words: "skill.assessed", "mentorship.session_held".
    static func isEventTypeName(_ s: Substring) -> Bool {
        let words = s.split(separator: ".", omittingEmptySubsequences: false)
        guard words.count >= 2 else { return false }
        return words.allSatisfy { word in
            guard let first = word.first, first.isASCII, first.isLowercase else { return false }
            return word.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
        }
    }

    private static func checkEventConventions(_ json: JSONValue, type: String, version: Int, file: String)
        throws(SchemaLoadError)
    {
        guard case .object(let root) = json else {
            throw SchemaLoadError(file: file, reason: "an event schema must be a JSON object")
        }
        let expectedID = idPrefix + type + "/" + String(version)
        guard case .string(let id)? = root["$id"], id == expectedID else {
            throw SchemaLoadError(file: file, reason: "$id must be \(expectedID) (it must match the file name)")
        }
        guard case .string("object")? = root["type"] else {
            throw SchemaLoadError(file: file, reason: "the root must have \"type\": \"object\" (it describes data)")
        }
        if let pointer = firstOpenObject(json, pointer: "") {
            throw SchemaLoadError(file: file, reason:
                "at \(pointer.isEmpty ? "the root" : pointer): an object schema must say \"additionalProperties\": false")
        }
    }

    /// The pointer of the first schema with `"type": "object"` or
    /// `properties` but no `"additionalProperties": false`.
    private static func firstOpenObject(_ value: JSONValue, pointer: String) -> String? {
        guard case .object(let object) = value else { return nil }
        let describesObject = object["properties"] != nil || object["type"] == .string("object")
        if describesObject && object["additionalProperties"] != .bool(false) { return pointer }
        for member in object.members {
            let here = pointer + "/" + member.key
            switch member.key {
            case "properties", "$defs", "patternProperties", "dependentSchemas":
                guard case .object(let map) = member.value else { continue }
                for entry in map.members {
                    if let found = firstOpenObject(entry.value, pointer: here + "/" + entry.key) { return found }
                }
            case "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames":
                if let found = firstOpenObject(member.value, pointer: here) { return found }
            case "allOf", "anyOf", "oneOf", "prefixItems":
                guard case .array(let items) = member.value else { continue }
                for (i, item) in items.enumerated() {
                    if let found = firstOpenObject(item, pointer: here + "/\(i)") { return found }
                }
            default:
                continue
            }
        }
        return nil
    }

    /// Paths of `x-pii` fields reachable from `root` through properties,
    /// items, $ref and allOf/anyOf/oneOf.
    private static func piiPaths(_ program: SchemaProgram, root: Int) -> [String] {
        var paths: [String] = []
        var visiting: Set<Int> = []

        func markedPII(_ node: Int) -> Bool {
            if program.nodes[node].isPII { return true }
            guard visiting.insert(node).inserted else { return false }
            defer { visiting.remove(node) }
            for check in program.nodes[node].checks {
                if case .ref(let target) = check, markedPII(target) { return true }
            }
            return false
        }

        func walk(_ node: Int, _ prefix: String) {
            guard visiting.insert(node).inserted else { return }
            defer { visiting.remove(node) }
            func same(_ n: Int) { walk(n, prefix) }
            for check in program.nodes[node].checks {
                switch check {
                case .ref(let target): same(target)
                case .allOf(let list), .anyOf(let list), .oneOf(let list): list.object.nodes.forEach(same)
                case .conditional(_, let then, let otherwise): then.map(same); otherwise.map(same)
                case .object(let rules):
                    for property in rules.object.properties {
                        let path = prefix.isEmpty ? property.name : prefix + "." + property.name
                        if markedPII(property.node) {
                            if !paths.contains(path) { paths.append(path) }
                        } else {
                            walk(property.node, path)
                        }
                    }
                case .array(let ref):
                    let rules = ref.object
                    var itemNodes: [Int] = rules.prefixItems
                    if let items = rules.items { itemNodes.append(items) }
                    for item in itemNodes {
                        if markedPII(item) {
                            if !paths.contains(prefix + "[]") { paths.append(prefix + "[]") }
                        } else {
                            walk(item, prefix + "[]")
                        }
                    }
                default:
                    continue
                }
            }
        }
        walk(root, "")
        return paths
    }
}
