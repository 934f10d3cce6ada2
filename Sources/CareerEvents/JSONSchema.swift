/// JSON Schema (draft 2020-12) compiled for the ingest hot path.
///
/// A schema is compiled once, when it loads, into a `SchemaProgram`: an array
/// of nodes, one per subschema, each holding the checks its keywords make, in
/// a fixed order, with every `$ref` already resolved to a node index and every
/// `pattern` already compiled. Validating a value then walks nodes and values
/// only: no URI resolution, no regex compilation, no allocation on success.
///
///     SchemaCompiler                         SchemaProgram.nodes
///     documents --index $id/$anchor-->       [0] object: properties skill->1, level->2, ...
///               --compile from roots-->      [1] ref 5           (defs.json#/$defs/skill_name)
///                                            [2] ref 6           (defs.json#/$defs/level)
///                                            [5] type string, length 1...150
///                                            [6] enum beginner, intermediate, ...
///
/// Keywords: type, enum, const, multipleOf, minimum, maximum, exclusiveMinimum,
/// exclusiveMaximum, minLength, maxLength (Unicode code points), pattern
/// (`SchemaRegex`), format (`SchemaFormat`, asserted), items, prefixItems,
/// contains, minContains, maxContains, minItems, maxItems, uniqueItems,
/// properties, patternProperties, additionalProperties, propertyNames,
/// required, dependentRequired, dependentSchemas, minProperties,
/// maxProperties, allOf, anyOf, oneOf, not, if/then/else, $ref, $defs, $id,
/// $anchor, boolean schemas; annotations are accepted and ignored. Keywords
/// whose meaning would be lost by ignoring them ($dynamicRef,
/// unevaluatedProperties, ...) stop the load instead.
///
/// Three extension keywords carry the catalog rules JSON Schema cannot say:
/// `x-pii` (annotation: the field holds personal data), `x-code-list` (the
/// string is in an embedded ISO/IANA list, see `ISOCodes`) and `x-ordered`
/// (pairs of members that must not decrease, such as min <= max).
public struct JSONSchema: Sendable {
    let program: SchemaProgram
    let root: Int

    init(program: SchemaProgram, root: Int) {
        self.program = program
        self.root = root
    }

    /// Compiles one self-contained schema document (refs may point only inside it).
    public init(_ document: JSONValue, options: Options = .standard, name: String = "<schema>")
        throws(SchemaLoadError)
    {
        var compiler = SchemaCompiler(options: options)
        let index = try compiler.add(document, name: name, retrievalURI: nil)
        let root = try compiler.compileRoot(of: index)
        self.init(program: compiler.finish(), root: root)
    }

    /// The first violation in `instance`, in a fixed order (see
    /// `SchemaProgram.check`), or nil when it is valid.
    public func validate(_ instance: JSONValue) -> SchemaViolation? {
        guard let failure = program.check(root, instance, depth: 0) else { return nil }
        return SchemaViolation(failure)
    }

    public func isValid(_ instance: JSONValue) -> Bool {
        program.check(root, instance, depth: 0) == nil
    }

    /// How strictly schemas are read.
    public struct Options: Sendable {
        /// Reject keywords this validator does not know (a misspelt
        /// `maxLenght` would otherwise be silently ignored) and unknown
        /// `format` values. On for `EventSchemas/`; off for foreign schemas
        /// such as the JSON Schema Test Suite's, where unknown keywords are
        /// annotations.
        public var rejectUnknownKeywords: Bool

        public init(rejectUnknownKeywords: Bool) {
            self.rejectUnknownKeywords = rejectUnknownKeywords
        }

        /// JSON Schema's own rules: unknown keywords and formats are ignored.
        public static let standard = Options(rejectUnknownKeywords: false)
        /// For the project's own schemas.
        public static let strict = Options(rejectUnknownKeywords: true)
    }
}

/// Why a schema could not be loaded: the file and what is wrong in it.
public struct SchemaLoadError: Error, Sendable, CustomStringConvertible {
    /// The schema file (or document name) that has the problem.
    public var file: String
    /// What is wrong, with the JSON Pointer of the place when there is one.
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// The first rule a value breaks: where (a path into the value) and which rule.
public struct SchemaViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public enum PathComponent: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    /// From the validated value down to the offending member.
    public var path: [PathComponent]
    /// The rule, short and precise ("140 is greater than the maximum 100").
    public var reason: String

    public init(path: [PathComponent], reason: String) {
        self.path = path
        self.reason = reason
    }

    init(_ failure: SchemaFailure) {
        self.path = failure.reversedPath.reversed()
        self.reason = failure.reason.message
    }

    /// The path written from `root`: `data.tasks[3].title`. Keys that are not
    /// plain identifiers are quoted: `data["odd key"]`.
    public func pathString(root: String) -> String {
        var s = root
        for component in path {
            switch component {
            case .index(let i):
                s += "[\(i)]"
            case .key(let k):
                if Self.isIdentifier(k) {
                    s += s.isEmpty ? k : "." + k
                } else {
                    var quoted: [UInt8] = []
                    JSONValue.writeString(k, into: &quoted)
                    s += "[" + String(decoding: quoted, as: UTF8.self) + "]"
                }
            }
        }
        return s
    }

    public var description: String {
        let path = pathString(root: "")
        return path.isEmpty ? reason : "\(path): \(reason)"
    }

    private static func isIdentifier(_ k: String) -> Bool {
        guard let first = k.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return false }
        return k.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
        }
    }
}

// MARK: - Compiled form

/// Every node of one or more compiled schemas; nodes refer to each other by
/// index, so recursive schemas need no reference cycles.
///
/// The checks of all nodes sit back to back in one array, node `i`'s from
/// `checkStart[i]` up to `checkStart[i + 1]`, so evaluating a node touches one
/// contiguous run and copies no per-node object. Check payloads are trivial
/// values or a single class reference, which keeps iterating them cheap.
final class SchemaProgram: Sendable {
    let nodes: [SchemaNode]
    let checks: [SchemaCheck]
    let checkStart: [Int]
    /// Keeps alive every object a check refers to through `SchemaRef`.
    private let owners: [any AnyObject & Sendable]

    init(nodes: [SchemaNode], owners: [any AnyObject & Sendable]) {
        self.nodes = nodes
        self.owners = owners
        var checks: [SchemaCheck] = []
        var starts: [Int] = []
        starts.reserveCapacity(nodes.count + 1)
        for node in nodes {
            starts.append(checks.count)
            checks += node.checks
        }
        starts.append(checks.count)
        self.checks = checks
        self.checkStart = starts
    }

    /// Bounds evaluation depth: `{"$ref": "#"}` would otherwise recurse
    /// forever, and instance depth is already bounded by the JSON parser.
    static let evaluationDepthMax = 256
}

/// An unretained reference to an object its `SchemaProgram` owns.
///
/// Checks are read once per value validated; with strong references every
/// read would copy the enum through a retain and a release (profiling showed
/// that copy as the largest single cost). With this, `SchemaCheck` is a plain
/// value, copied by copying bytes. Safe because checks are only reachable
/// through the program that owns the objects (`SchemaProgram.owners`).
struct SchemaRef<Object: AnyObject & Sendable>: Sendable {
    private let unmanaged: Unmanaged<Object>

    /// Registers `object` with `owners` (which must end up in the program).
    init(_ object: Object, owners: inout [any AnyObject & Sendable]) {
        owners.append(object)
        self.unmanaged = Unmanaged.passUnretained(object)
    }

    @inline(__always) func with<Result>(_ body: (Object) -> Result) -> Result {
        unmanaged._withUnsafeGuaranteedRef(body)
    }

    var object: Object { unmanaged.takeUnretainedValue() }
}

/// One subschema as compiled: its checks in evaluation order, and what the
/// registry needs to know about it.
struct SchemaNode: Sendable {
    var checks: [SchemaCheck]
    /// `x-pii: true`.
    var isPII: Bool
    /// Where the subschema was written, for debugging ("defs.json#/$defs/uuid").
    var location: String
}

/// One keyword's check (or a group of related keywords). Payloads are
/// trivial values, so the enum is copied without reference counting.
enum SchemaCheck: Sendable {
    case never                                   // the `false` schema
    case ref(Int)
    case constant(SchemaRef<SchemaConstant>)
    case enumeration(SchemaRef<SchemaEnumeration>)
    case type(JSONTypeSet)
    case number(SchemaRef<NumberRules>)
    case length(min: Int, max: Int)
    case pattern(SchemaRef<SchemaRegex>)
    case format(SchemaFormat)
    case codeList(SchemaCodeList)
    case object(SchemaRef<ObjectRules>)
    case array(SchemaRef<ArrayRules>)
    case ordered(SchemaRef<OrderedPairs>)
    case allOf(SchemaRef<SchemaNodeList>)
    case anyOf(SchemaRef<SchemaNodeList>)
    case oneOf(SchemaRef<SchemaNodeList>)
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
}

/// The subschemas of allOf, anyOf or oneOf.
final class SchemaNodeList: Sendable {
    let nodes: [Int]
    init(_ nodes: [Int]) { self.nodes = nodes }
}

/// `const`'s value, boxed so a check stays one reference wide.
final class SchemaConstant: Sendable {
    let value: JSONValue
    init(_ value: JSONValue) { self.value = value }
}

/// JSON Schema's type names as a bit set.
struct JSONTypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = JSONTypeSet(rawValue: 1)
    static let boolean = JSONTypeSet(rawValue: 2)
    static let integer = JSONTypeSet(rawValue: 4)
    static let number = JSONTypeSet(rawValue: 8)
    static let string = JSONTypeSet(rawValue: 16)
    static let array = JSONTypeSet(rawValue: 32)
    static let object = JSONTypeSet(rawValue: 64)

    static let names: [(String, JSONTypeSet)] = [
        ("null", .null), ("boolean", .boolean), ("integer", .integer), ("number", .number),
        ("string", .string), ("array", .array), ("object", .object),
    ]

    @inline(__always) func admits(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .string: return contains(.string)
        case .array: return contains(.array)
        case .object: return contains(.object)
        case .number(let n):
            if contains(.number) { return true }
            return contains(.integer) && n.isInteger
        }
    }

    /// "a string or null" (null last, it reads as the exception).
    var phrase: String {
        let names = Self.names.filter { contains($0.1) }.map(\.0)
        let words = names.filter { $0 != "null" }.map { name in
            (name == "integer" || name == "object" || name == "array" ? "an " : "a ") + name
        }
        return (words + (contains(.null) ? ["null"] : [])).joined(separator: " or ")
    }
}

/// `enum` values, with a string-only fast path and the message precomputed.
final class SchemaEnumeration: Sendable {
    let values: [JSONValue]
    let strings: [String]?
    let message: String

    init(values: [JSONValue]) {
        self.values = values
        let strings = values.compactMap(\.stringValue)
        self.strings = strings.count == values.count ? strings : nil
        let listed = values.map { $0.stringValue ?? $0.compactString }
        self.message = values.isEmpty ? "no value is allowed (empty enum)" : "must be one of " + listed.joined(separator: ", ")
    }

    func contains(_ value: JSONValue) -> Bool {
        if let strings {
            guard case .string(let s) = value else { return false }
            for candidate in strings where JSONStrictEquality.sameString(candidate, s) { return true }
            return false
        }
        for candidate in values where JSONStrictEquality.equal(candidate, value) { return true }
        return false
    }
}

/// A numeric bound, with its integer value when it has one so integer
/// instances compare exactly.
struct NumberBound: Sendable {
    let number: JSONNumber
    let double: Double
    let int: Int64?

    init(_ number: JSONNumber) {
        self.number = number
        self.double = number.double
        self.int = Int64(number.text)
    }

    /// A value to compare: its integer value when it is written as one.
    struct Value {
        let int: Int64?
        let double: Double

        @inline(__always) init(_ n: JSONNumber) {
            int = Int64(n.text)
            double = int.map(Double.init) ?? n.double
        }
    }

    /// -1, 0 or 1 as `value` is below, at or above the bound.
    @inline(__always) func compare(_ value: Value) -> Int {
        if let int, let v = value.int { return v < int ? -1 : (v == int ? 0 : 1) }
        return value.double < double ? -1 : (value.double == double ? 0 : 1)
    }
}

/// minimum, maximum, exclusiveMinimum, exclusiveMaximum and multipleOf of one schema.
final class NumberRules: Sendable {
    let minimum: NumberBound?
    let maximum: NumberBound?
    let exclusiveMinimum: NumberBound?
    let exclusiveMaximum: NumberBound?
    let multipleOf: JSONNumber?

    init(minimum: NumberBound?, maximum: NumberBound?, exclusiveMinimum: NumberBound?,
         exclusiveMaximum: NumberBound?, multipleOf: JSONNumber?) {
        self.minimum = minimum
        self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum
        self.exclusiveMaximum = exclusiveMaximum
        self.multipleOf = multipleOf
    }
}

enum AdditionalProperties: Sendable {
    case allowed
    case forbidden          // `additionalProperties: false`: "unknown field"
    case schema(Int)
}

final class ObjectRules: Sendable {
    /// `properties` in schema order. Looked up by a linear scan that compares
    /// UTF-8 lengths before strings (event objects have a handful of keys,
    /// where that beats hashing), or through a dictionary when there are many.
    let properties: [(name: String, node: Int)]
    private let nameLengths: [Int]
    private let propertyIndex: [String: Int]?
    let patternProperties: [(regex: SchemaRegex, node: Int)]
    let additional: AdditionalProperties
    let required: [String]
    /// For each `required` name, its position in `properties`, when every
    /// required name is one of the first 64 properties: presence is then a
    /// bit test on the mask built while scanning the members.
    let requiredPositions: [Int]?
    let propertyNames: Int?
    let dependentRequired: [(name: String, requires: [String])]
    let dependentSchemas: [(name: String, node: Int)]
    let minProperties: Int?
    let maxProperties: Int?

    static let linearLookupMax = 16

    init(
        properties: [(name: String, node: Int)], patternProperties: [(regex: SchemaRegex, node: Int)],
        additional: AdditionalProperties, required: [String], propertyNames: Int?,
        dependentRequired: [(name: String, requires: [String])], dependentSchemas: [(name: String, node: Int)],
        minProperties: Int?, maxProperties: Int?
    ) {
        // A repeated property name cannot occur (the parser rejects repeated
        // keys), so positions are unique.
        self.properties = properties
        self.nameLengths = properties.map { $0.name.utf8.count }
        var index: [String: Int] = [:]
        for (position, property) in properties.enumerated() where index[property.name] == nil {
            index[property.name] = position
        }
        self.propertyIndex = properties.count > Self.linearLookupMax ? index : nil
        self.patternProperties = patternProperties
        self.additional = additional
        self.required = required
        let positions = required.compactMap { index[$0] }
        self.requiredPositions = positions.count == required.count && positions.allSatisfy { $0 < 64 } ? positions : nil
        self.propertyNames = propertyNames
        self.dependentRequired = dependentRequired
        self.dependentSchemas = dependentSchemas
        self.minProperties = minProperties
        self.maxProperties = maxProperties
    }

    /// The position of `key` in `properties`, or nil.
    @inline(__always) func position(of key: String) -> Int? {
        if let propertyIndex { return propertyIndex[key] }
        let length = key.utf8.count
        for i in nameLengths.indices where nameLengths[i] == length && properties[i].name == key { return i }
        return nil
    }
}

final class ArrayRules: Sendable {
    let prefixItems: [Int]
    let items: Int?
    let contains: Int?
    let minContains: Int
    let maxContains: Int?
    let minItems: Int?
    let maxItems: Int?
    let uniqueItems: Bool

    init(prefixItems: [Int], items: Int?, contains: Int?, minContains: Int, maxContains: Int?,
         minItems: Int?, maxItems: Int?, uniqueItems: Bool) {
        self.prefixItems = prefixItems
        self.items = items
        self.contains = contains
        self.minContains = minContains
        self.maxContains = maxContains
        self.minItems = minItems
        self.maxItems = maxItems
        self.uniqueItems = uniqueItems
    }
}

// MARK: - Equality as JSON Schema defines it

/// `const`, `enum` and `uniqueItems` equality: numbers by value (1 == 1.0),
/// strings by code points (so "\u{e4}" differs from "a\u{308}", which Swift's
/// `==` treats as equal), objects regardless of member order.
enum JSONStrictEquality {
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return sameString(x, y)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for i in x.indices where !equal(x[i], y[i]) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for member in x.members {
                guard let other = y.members.first(where: { sameString($0.key, member.key) }),
                      equal(member.value, other.value)
                else { return false }
            }
            return true
        default:
            return false
        }
    }

    @inline(__always) static func sameString(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return withUTF8(a) { x in withUTF8(b) { y in x.elementsEqual(y) } }
    }

    /// A hash consistent with `equal`, for `uniqueItems` on long arrays.
    static func hash(_ v: JSONValue, into h: inout Hasher) {
        switch v {
        case .null: h.combine(0)
        case .bool(let b): h.combine(b)
        case .number(let n): h.combine(n.double)
        case .string(let s): h.combine(s.utf8.count); for b in s.utf8 { h.combine(b) }
        case .array(let items): h.combine(items.count); for item in items { hash(item, into: &h) }
        case .object(let o):
            var sum = 0
            for member in o.members {
                var inner = Hasher()
                for b in member.key.utf8 { inner.combine(b) }
                hash(member.value, into: &inner)
                sum = sum &+ inner.finalize()
            }
            h.combine(o.count)
            h.combine(sum)
        }
    }

    struct Key: Hashable {
        let value: JSONValue
        static func == (a: Key, b: Key) -> Bool { JSONStrictEquality.equal(a.value, b.value) }
        func hash(into hasher: inout Hasher) { JSONStrictEquality.hash(value, into: &hasher) }
    }
}
