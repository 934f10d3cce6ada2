/// Turns schema documents into a `SchemaProgram`, once, at load.
///
/// 1. `add` each document. Its subschemas are walked once to record every
///    embedded resource (`$id`) and anchor (`$anchor`) under its absolute URI,
///    so a `$ref` can name any document added, in any order.
/// 2. `compileRoot` compiles from a document's root. Subschemas compile on
///    first use and are memoized by location (document + JSON Pointer), so a
///    definition that many schemas reference is compiled once and shared, and
///    a recursive `$ref` points at the node being compiled.
/// 3. `finish` hands out the immutable program.
///
/// Every problem (unknown keyword in strict mode, bad keyword value, a `$ref`
/// that resolves nowhere, a pattern outside the supported syntax) stops the
/// load with the file name and the JSON Pointer of the place.
struct SchemaCompiler {
    let options: JSONSchema.Options

    private struct Document {
        var root: JSONValue
        var name: String
        var uri: SchemaURI
    }

    private struct Location: Hashable {
        var document: Int
        var pointer: [String]
    }

    private var documents: [Document] = []
    /// Absolute URI without fragment -> the resource's root.
    private var resources: [String: Location] = [:]
    /// "absolute-uri#anchor" -> the anchored subschema.
    private var anchors: [String: Location] = [:]
    /// Base URI in effect at each subschema (after its own `$id`).
    private var baseURIs: [Location: SchemaURI] = [:]
    private var nodes: [SchemaNode] = []
    private var compiled: [Location: Int] = [:]
    /// The objects checks refer to; they move into the program.
    private var owners: [any AnyObject & Sendable] = []

    init(options: JSONSchema.Options) {
        self.options = options
    }

    /// The draft this compiler implements; `$schema` naming any other is an error.
    static let draft202012 = "https://json-schema.org/draft/2020-12/schema"

    // MARK: Documents and identifiers

    /// Adds a document; returns its index. `retrievalURI` is where it came
    /// from (a file URL); its `$id`, if any, takes precedence as base URI.
    mutating func add(_ root: JSONValue, name: String, retrievalURI: String?) throws(SchemaLoadError) -> Int {
        let index = documents.count
        let retrieval = SchemaURI(parsing: retrievalURI ?? "urn:careerlog:schema:\(index)")
        documents.append(Document(root: root, name: name, uri: retrieval))
        resources[retrieval.withoutFragment.description] = Location(document: index, pointer: [])
        try indexIdentifiers(root, at: Location(document: index, pointer: []), base: retrieval)
        return index
    }

    /// Keywords whose value is one subschema, an array of them, or a map of them.
    private static let singleSchemaKeywords: Set<String> = [
        "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    ]
    private static let schemaArrayKeywords: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    private static let schemaMapKeywords: Set<String> = [
        "$defs", "definitions", "properties", "patternProperties", "dependentSchemas",
    ]

    private mutating func indexIdentifiers(_ value: JSONValue, at location: Location, base parentBase: SchemaURI)
        throws(SchemaLoadError)
    {
        guard location.pointer.count <= 64 else { throw error("schema nested deeper than 64 levels", at: location) }
        guard case .object(let object) = value else { return }
        var base = parentBase
        if let id = object["$id"] {
            guard case .string(let text) = id else { throw error("$id must be a string", at: location) }
            let resolved = parentBase.resolving(text)
            if let fragment = resolved.fragment, !fragment.isEmpty {
                throw error("$id must not have a fragment: \(text)", at: location)
            }
            base = resolved.withoutFragment
            let key = base.description
            if let existing = resources[key], existing != location {
                throw error("$id \(key) is already used by \(documents[existing.document].name)", at: location)
            }
            resources[key] = location
        }
        baseURIs[location] = base
        if let anchor = object["$anchor"] {
            guard case .string(let name) = anchor, Self.isAnchorName(name) else {
                throw error("$anchor must be a name (letters, digits, -, _, ., :)", at: location)
            }
            anchors[base.description + "#" + name] = location
        }
        for member in object.members {
            let child = location.pointer + [member.key]
            if Self.singleSchemaKeywords.contains(member.key) {
                try indexIdentifiers(member.value, at: Location(document: location.document, pointer: child), base: base)
            } else if Self.schemaArrayKeywords.contains(member.key), case .array(let items) = member.value {
                for (i, item) in items.enumerated() {
                    try indexIdentifiers(item, at: Location(document: location.document, pointer: child + [String(i)]), base: base)
                }
            } else if Self.schemaMapKeywords.contains(member.key), case .object(let map) = member.value {
                for entry in map.members {
                    try indexIdentifiers(entry.value, at: Location(document: location.document, pointer: child + [entry.key]), base: base)
                }
            }
        }
    }

    private static func isAnchorName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" else {
            return false
        }
        return s.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0))
        }
    }

    // MARK: Compiling

    /// Compiles the document's root schema; returns its node index.
    mutating func compileRoot(of document: Int) throws(SchemaLoadError) -> Int {
        let root = documents[document].root
        if case .object(let object) = root, let schema = object["$schema"] {
            guard case .string(let s) = schema, s == Self.draft202012 || s == Self.draft202012 + "#" else {
                throw error("$schema must be \(Self.draft202012)", at: Location(document: document, pointer: []))
            }
        }
        return try compile(root, at: Location(document: document, pointer: []))
    }

    /// Compiles every entry of the root's `$defs`, so a mistake in a shared
    /// definition no schema uses yet is still found at load.
    mutating func compileDefinitions(of document: Int) throws(SchemaLoadError) {
        guard case .object(let object) = documents[document].root, case .object(let defs)? = object["$defs"] else { return }
        for entry in defs.members {
            _ = try compile(entry.value, at: Location(document: document, pointer: ["$defs", entry.key]))
        }
    }

    func finish() -> SchemaProgram {
        SchemaProgram(nodes: nodes, owners: owners)
    }

    /// The location of the node `index` (for tests and messages).
    func describe(_ index: Int) -> String { nodes[index].location }

    private mutating func compile(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> Int {
        if let existing = compiled[location] { return existing }
        let index = nodes.count
        let where_ = documents[location.document].name + "#" + JSONPointer.string(location.pointer)
        nodes.append(SchemaNode(checks: [], isPII: false, location: where_))
        compiled[location] = index
        switch value {
        case .bool(true):
            break
        case .bool(false):
            nodes[index].checks = [.never]
        case .object(let object):
            let base = baseURI(of: location, object: object)
            var builder = NodeBuilder(object: object, location: location, base: base)
            try build(&builder)
            nodes[index].checks = builder.orderedChecks(owners: &owners)
            nodes[index].isPII = builder.isPII
        default:
            throw error("a schema must be an object or a boolean, found \(value.typeName)", at: location)
        }
        return index
    }

    private func baseURI(of location: Location, object: JSONObject) -> SchemaURI {
        if let known = baseURIs[location] { return known }
        // A $ref into a place the identifier walk did not visit: nearest
        // visited ancestor, then this object's own $id.
        var pointer = location.pointer
        var base = documents[location.document].uri
        while !pointer.isEmpty {
            pointer.removeLast()
            if let known = baseURIs[Location(document: location.document, pointer: pointer)] { base = known; break }
        }
        if case .string(let id)? = object["$id"] { base = base.resolving(id).withoutFragment }
        return base
    }

    /// Keywords collected per node, emitted in evaluation order.
    private struct NodeBuilder {
        let object: JSONObject
        let location: Location
        let base: SchemaURI
        var isPII = false
        var ref: Int?
        var constant: SchemaConstant?
        var enumeration: SchemaEnumeration?
        var type: SchemaCheck?
        var minimum: NumberBound?
        var maximum: NumberBound?
        var exclusiveMinimum: NumberBound?
        var exclusiveMaximum: NumberBound?
        var multipleOf: JSONNumber?
        var minLength: Int?
        var maxLength: Int?
        var pattern: SchemaRegex?
        var format: SchemaFormat?
        var codeList: SchemaCodeList?
        var properties: [(name: String, node: Int)] = []
        var patternProperties: [(regex: SchemaRegex, node: Int)] = []
        var additional = AdditionalProperties.allowed
        var required: [String] = []
        var propertyNames: Int?
        var dependentRequired: [(name: String, requires: [String])] = []
        var dependentSchemas: [(name: String, node: Int)] = []
        var minProperties: Int?
        var maxProperties: Int?
        var hasObjectRules = false
        var prefixItems: [Int] = []
        var items: Int?
        var contains: Int?
        var minContains: Int?
        var maxContains: Int?
        var minItems: Int?
        var maxItems: Int?
        var uniqueItems = false
        var hasArrayRules = false
        var ordered: [OrderedPair] = []
        var allOf: [Int]?
        var anyOf: [Int]?
        var oneOf: [Int]?
        var not: Int?
        var conditionIf: Int?
        var conditionThen: Int?
        var conditionElse: Int?

        func orderedChecks(owners: inout [any AnyObject & Sendable]) -> [SchemaCheck] {
            var checks: [SchemaCheck] = []
            if let ref { checks.append(.ref(ref)) }
            if let constant { checks.append(.constant(SchemaRef(constant, owners: &owners))) }
            if let enumeration { checks.append(.enumeration(SchemaRef(enumeration, owners: &owners))) }
            if let type { checks.append(type) }
            if minimum != nil || maximum != nil || exclusiveMinimum != nil || exclusiveMaximum != nil
                || multipleOf != nil {
                checks.append(.number(SchemaRef(NumberRules(
                    minimum: minimum, maximum: maximum, exclusiveMinimum: exclusiveMinimum,
                    exclusiveMaximum: exclusiveMaximum, multipleOf: multipleOf), owners: &owners)))
            }
            if minLength != nil || maxLength != nil {
                checks.append(.length(min: minLength ?? 0, max: maxLength ?? Int.max))
            }
            if let pattern { checks.append(.pattern(SchemaRef(pattern, owners: &owners))) }
            if let format { checks.append(.format(format)) }
            if let codeList { checks.append(.codeList(codeList)) }
            if hasObjectRules {
                checks.append(.object(SchemaRef(ObjectRules(
                    properties: properties, patternProperties: patternProperties, additional: additional,
                    required: required, propertyNames: propertyNames, dependentRequired: dependentRequired,
                    dependentSchemas: dependentSchemas, minProperties: minProperties, maxProperties: maxProperties),
                    owners: &owners)))
            }
            if hasArrayRules {
                checks.append(.array(SchemaRef(ArrayRules(
                    prefixItems: prefixItems, items: items, contains: contains,
                    minContains: contains == nil ? 0 : (minContains ?? 1), maxContains: contains == nil ? nil : maxContains,
                    minItems: minItems, maxItems: maxItems, uniqueItems: uniqueItems), owners: &owners)))
            }
            if !ordered.isEmpty { checks.append(.ordered(SchemaRef(OrderedPairs(ordered), owners: &owners))) }
            if let allOf { checks.append(.allOf(SchemaRef(SchemaNodeList(allOf), owners: &owners))) }
            if let anyOf { checks.append(.anyOf(SchemaRef(SchemaNodeList(anyOf), owners: &owners))) }
            if let oneOf { checks.append(.oneOf(SchemaRef(SchemaNodeList(oneOf), owners: &owners))) }
            if let not { checks.append(.not(not)) }
            if let conditionIf, conditionThen != nil || conditionElse != nil {
                checks.append(.conditional(if: conditionIf, then: conditionThen, else: conditionElse))
            }
            return checks
        }
    }

    /// Annotation and structural keywords: accepted, no check of their own.
    private static let ignoredKeywords: Set<String> = [
        "$schema", "$id", "$anchor", "$comment", "$defs", "$vocabulary", "title", "description", "default",
        "examples", "deprecated", "readOnly", "writeOnly", "contentEncoding", "contentMediaType", "contentSchema",
    ]

    /// Keywords that change what validates and that this validator does not
    /// implement: ignoring them would accept values the schema rejects.
    private static let unsupportedKeywords: Set<String> = [
        "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
        "unevaluatedProperties", "unevaluatedItems",
    ]

    /// Reads every keyword of the node's object into the builder. Each group
    /// of keywords returns false for a key it does not handle.
    private mutating func build(_ b: inout NodeBuilder) throws(SchemaLoadError) {
        for member in b.object.members {
            let key = member.key
            let at = Location(document: b.location.document, pointer: b.location.pointer + [key])
            if try buildValueKeyword(key, member.value, at: at, into: &b) { continue }
            if try buildObjectKeyword(key, member.value, at: at, into: &b) { continue }
            if try buildArrayOrApplicatorKeyword(key, member.value, at: at, into: &b) { continue }
            if try buildExtensionKeyword(key, member.value, at: at, into: &b) { continue }
            if Self.ignoredKeywords.contains(key) { continue }
            if key == "definitions" && !options.rejectUnknownKeywords { continue }
            if Self.unsupportedKeywords.contains(key) {
                throw error("keyword \(key) is not supported by this validator", at: at)
            }
            if options.rejectUnknownKeywords { throw error("unknown keyword \"\(key)\"", at: at) }
        }
    }

    /// $ref, const, enum, type, numeric and string keywords, format.
    private mutating func buildValueKeyword(_ key: String, _ value: JSONValue, at: Location, into b: inout NodeBuilder)
        throws(SchemaLoadError) -> Bool
    {
        switch key {
        case "$ref":
            guard case .string(let reference) = value else { throw error("$ref must be a string", at: at) }
            b.ref = try resolveReference(reference, base: b.base, from: at)
        case "const":
            b.constant = SchemaConstant(value)
        case "enum":
            guard case .array(let values) = value else { throw error("enum must be an array", at: at) }
            b.enumeration = SchemaEnumeration(values: values)
        case "type": b.type = .type(try typeSet(value, at: at))
        case "minimum": b.minimum = NumberBound(try number(value, at: at))
        case "maximum": b.maximum = NumberBound(try number(value, at: at))
        case "exclusiveMinimum": b.exclusiveMinimum = NumberBound(try number(value, at: at))
        case "exclusiveMaximum": b.exclusiveMaximum = NumberBound(try number(value, at: at))
        case "multipleOf":
            let n = try number(value, at: at)
            guard n.double > 0 else { throw error("multipleOf must be greater than 0", at: at) }
            b.multipleOf = n
        case "minLength": b.minLength = try count(value, at: at)
        case "maxLength": b.maxLength = try count(value, at: at)
        case "pattern": b.pattern = try regex(value, at: at)
        case "format":
            guard case .string(let name) = value else { throw error("format must be a string", at: at) }
            if let format = SchemaFormat(rawValue: name) {
                b.format = format
            } else if options.rejectUnknownKeywords {
                let known = SchemaFormat.allCases.map(\.rawValue).joined(separator: ", ")
                throw error("unknown format \"\(name)\" (known: \(known))", at: at)
            }
        default:
            return false
        }
        return true
    }

    /// properties, patternProperties, additionalProperties, required,
    /// propertyNames, dependentRequired, dependentSchemas, min/maxProperties.
    private mutating func buildObjectKeyword(_ key: String, _ value: JSONValue, at: Location, into b: inout NodeBuilder)
        throws(SchemaLoadError) -> Bool
    {
        func child(_ name: String) -> Location { Location(document: at.document, pointer: at.pointer + [name]) }
        switch key {
        case "properties":
            guard case .object(let map) = value else { throw error("properties must be an object", at: at) }
            for entry in map.members { b.properties.append((entry.key, try compile(entry.value, at: child(entry.key)))) }
        case "patternProperties":
            guard case .object(let map) = value else { throw error("patternProperties must be an object", at: at) }
            for entry in map.members {
                let regex = try regex(.string(entry.key), at: child(entry.key))
                b.patternProperties.append((regex, try compile(entry.value, at: child(entry.key))))
            }
        case "additionalProperties":
            b.additional = value == .bool(false) ? .forbidden : .schema(try compile(value, at: at))
        case "required":
            b.required = try uniqueStrings(value, at: at)
        case "propertyNames":
            b.propertyNames = try compile(value, at: at)
        case "dependentRequired":
            guard case .object(let map) = value else { throw error("dependentRequired must be an object", at: at) }
            for entry in map.members {
                b.dependentRequired.append((entry.key, try uniqueStrings(entry.value, at: child(entry.key))))
            }
        case "dependentSchemas":
            guard case .object(let map) = value else { throw error("dependentSchemas must be an object", at: at) }
            for entry in map.members {
                b.dependentSchemas.append((entry.key, try compile(entry.value, at: child(entry.key))))
            }
        case "minProperties": b.minProperties = try count(value, at: at)
        case "maxProperties": b.maxProperties = try count(value, at: at)
        default:
            return false
        }
        b.hasObjectRules = true
        return true
    }

    /// prefixItems, items, contains, min/maxContains, min/maxItems,
    /// uniqueItems; allOf, anyOf, oneOf, not, if/then/else.
    private mutating func buildArrayOrApplicatorKeyword(
        _ key: String, _ value: JSONValue, at: Location, into b: inout NodeBuilder
    ) throws(SchemaLoadError) -> Bool {
        switch key {
        case "prefixItems": b.prefixItems = try schemaArray(value, at: at)
        case "items": b.items = try compile(value, at: at)
        case "contains": b.contains = try compile(value, at: at)
        case "minContains": b.minContains = try count(value, at: at)
        case "maxContains": b.maxContains = try count(value, at: at)
        case "minItems": b.minItems = try count(value, at: at)
        case "maxItems": b.maxItems = try count(value, at: at)
        case "uniqueItems":
            guard case .bool(let unique) = value else { throw error("uniqueItems must be a boolean", at: at) }
            b.uniqueItems = unique
        case "allOf": b.allOf = try schemaArray(value, at: at); return true
        case "anyOf": b.anyOf = try schemaArray(value, at: at); return true
        case "oneOf": b.oneOf = try schemaArray(value, at: at); return true
        case "not": b.not = try compile(value, at: at); return true
        case "if": b.conditionIf = try compile(value, at: at); return true
        case "then": b.conditionThen = try compile(value, at: at); return true
        case "else": b.conditionElse = try compile(value, at: at); return true
        default:
            return false
        }
        b.hasArrayRules = true
        return true
    }

    /// x-pii, x-code-list, x-ordered (see SemanticRules.swift).
    private func buildExtensionKeyword(_ key: String, _ value: JSONValue, at: Location, into b: inout NodeBuilder)
        throws(SchemaLoadError) -> Bool
    {
        switch key {
        case "x-pii":
            guard case .bool(let pii) = value else { throw error("x-pii must be a boolean", at: at) }
            b.isPII = pii
        case "x-code-list":
            guard case .string(let name) = value, let list = SchemaCodeList(rawValue: name) else {
                let known = SchemaCodeList.allCases.map(\.rawValue).joined(separator: ", ")
                throw error("x-code-list must be one of \(known)", at: at)
            }
            b.codeList = list
        case "x-ordered":
            b.ordered = try orderedPairs(value, at: at)
        default:
            return false
        }
        return true
    }

    /// Resolves a `$ref` against the base URI and compiles its target.
    private mutating func resolveReference(_ reference: String, base: SchemaURI, from location: Location)
        throws(SchemaLoadError) -> Int
    {
        let uri = base.resolving(reference)
        let resourceKey = uri.withoutFragment.description
        guard let resource = resources[resourceKey] else {
            throw error("$ref \"\(reference)\" does not resolve: no loaded schema has $id \(resourceKey)", at: location)
        }
        let fragment = uri.fragment ?? ""
        let target: Location
        if fragment.isEmpty || fragment.hasPrefix("/") || fragment.hasPrefix("%2F") || fragment.hasPrefix("%2f") {
            guard let tokens = JSONPointer.tokens(fromFragment: fragment) else {
                throw error("$ref \"\(reference)\": bad JSON Pointer fragment", at: location)
            }
            target = Location(document: resource.document, pointer: resource.pointer + tokens)
        } else {
            guard let anchored = anchors[resourceKey + "#" + fragment] else {
                throw error("$ref \"\(reference)\": no $anchor \(fragment) in \(resourceKey)", at: location)
            }
            target = anchored
        }
        guard let value = JSONPointer.resolve(target.pointer, in: documents[target.document].root) else {
            throw error("$ref \"\(reference)\" points to nothing (\(resourceKey)#\(fragment))", at: location)
        }
        return try compile(value, at: target)
    }

    // MARK: Keyword values

    private func typeSet(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> JSONTypeSet {
        func one(_ v: JSONValue) throws(SchemaLoadError) -> JSONTypeSet {
            guard case .string(let name) = v, let t = JSONTypeSet.names.first(where: { $0.0 == name })?.1 else {
                throw error("type must name JSON types (null, boolean, integer, number, string, array, object)", at: location)
            }
            return t
        }
        if case .array(let names) = value {
            guard !names.isEmpty else { throw error("type must not be an empty array", at: location) }
            var set = JSONTypeSet()
            for name in names { set.formUnion(try one(name)) }
            return set
        }
        return try one(value)
    }

    private func number(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> JSONNumber {
        guard case .number(let n) = value, n.double.isFinite else { throw error("must be a finite number", at: location) }
        return n
    }

    private func count(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> Int {
        guard case .number(let n) = value, n.isInteger, n.double >= 0 else {
            throw error("must be a non-negative integer", at: location)
        }
        return n.double >= Double(Int32.max) ? Int(Int32.max) : Int(n.double)
    }

    private func regex(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> SchemaRegex {
        guard case .string(let source) = value else { throw error("pattern must be a string", at: location) }
        do {
            return try SchemaRegex(source)
        } catch {
            throw self.error(error.description, at: location)
        }
    }

    private func uniqueStrings(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> [String] {
        guard case .array(let items) = value else { throw error("must be an array of strings", at: location) }
        var names: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw error("must be an array of strings", at: location) }
            guard !names.contains(s) else { throw error("lists \"\(s)\" twice", at: location) }
            names.append(s)
        }
        return names
    }

    /// A non-empty array of schemas (allOf, anyOf, oneOf, prefixItems).
    private mutating func schemaArray(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> [Int] {
        guard case .array(let items) = value, !items.isEmpty else {
            throw error("must be a non-empty array of schemas", at: location)
        }
        var result: [Int] = []
        for (i, item) in items.enumerated() {
            result.append(try compile(item, at: Location(document: location.document, pointer: location.pointer + [String(i)])))
        }
        return result
    }

    private func orderedPairs(_ value: JSONValue, at location: Location) throws(SchemaLoadError) -> [OrderedPair] {
        guard case .array(let pairs) = value else {
            throw error("x-ordered must be an array of [low, high] member-name pairs", at: location)
        }
        var result: [OrderedPair] = []
        for pair in pairs {
            guard case .array(let names) = pair, names.count == 2,
                  case .string(let low) = names[0], case .string(let high) = names[1], low != high
            else { throw error("x-ordered must be an array of [low, high] member-name pairs", at: location) }
            result.append(OrderedPair(low: low, high: high))
        }
        return result
    }

    private func error(_ reason: String, at location: Location) -> SchemaLoadError {
        let pointer = JSONPointer.string(location.pointer)
        return SchemaLoadError(file: documents[location.document].name,
                               reason: pointer.isEmpty ? reason : "at \(pointer): \(reason)")
    }
}
