/// Evaluation of a compiled schema against a value.
///
/// Order, so the first violation reported is deterministic and the most
/// useful one: within a node, checks run in the order the compiler emits
/// them ($ref, const/enum, type, number, string, format, code list, object,
/// array, x-ordered, allOf, anyOf, oneOf, not, if). Within an object: unknown
/// fields first (a misspelt key explains the "required" failure that would
/// follow), then required fields in schema order, then member values in the
/// value's order. Within an array: item counts, then items in order, then
/// contains, then uniqueness.
///
/// Success allocates nothing; a failure builds its path on the way back up.
extension SchemaProgram {
    func check(_ index: Int, _ value: JSONValue, depth: Int) -> SchemaFailure? {
        guard depth < Self.evaluationDepthMax else {
            return SchemaFailure(.evaluationTooDeep)
        }
        var i = checkStart[index]
        let end = checkStart[index + 1]
        while i < end {
            if let failure = evaluate(checks[i], value, depth: depth) { return failure }
            i += 1
        }
        return nil
    }

    @inline(__always)
    private func evaluate(_ check: SchemaCheck, _ value: JSONValue, depth: Int) -> SchemaFailure? {
        switch check {
        case .never:
            return SchemaFailure(.falseSchema)
        case .ref(let target):
            return self.check(target, value, depth: depth + 1)
        case .constant(let expected):
            return expected.with { c in
                JSONStrictEquality.equal(c.value, value) ? nil : SchemaFailure(.constant(c.value))
            }
        case .enumeration(let enumeration):
            return enumeration.with { e in e.contains(value) ? nil : SchemaFailure(.enumeration(e)) }
        case .type(let types):
            return types.admits(value) ? nil : SchemaFailure(.type(expected: types, actual: value.typeName))
        case .number(let rules):
            guard case .number(let n) = value else { return nil }
            return rules.with { checkNumber(n, $0) }
        case .length(let minimum, let maximum):
            guard case .string(let s) = value else { return nil }
            return checkLength(s, min: minimum, max: maximum)
        case .pattern(let regex):
            guard case .string(let s) = value else { return nil }
            return regex.with { r in r.matches(s) ? nil : SchemaFailure(.pattern(r.source)) }
        case .format(let format):
            guard case .string(let s) = value else { return nil }
            return format.accepts(s) ? nil : SchemaFailure(.format(format))
        case .codeList(let list):
            guard case .string(let s) = value else { return nil }
            return list.contains(s) ? nil : SchemaFailure(.codeList(list, s))
        case .object(let rules):
            guard case .object(let object) = value else { return nil }
            return rules.with { checkObject(object, $0, depth: depth) }
        case .array(let rules):
            guard case .array(let items) = value else { return nil }
            return rules.with { checkArray(items, $0, depth: depth) }
        case .ordered(let pairs):
            guard case .object(let object) = value else { return nil }
            return pairs.with { checkOrdered(object, $0) }
        case .allOf(let list):
            return list.with { list in
                for s in list.nodes {
                    if let failure = self.check(s, value, depth: depth + 1) { return failure }
                }
                return nil
            }
        case .anyOf(let list):
            return list.with { list in
                for s in list.nodes where self.check(s, value, depth: depth + 1) == nil { return nil }
                return SchemaFailure(.anyOf)
            }
        case .oneOf(let list):
            return list.with { list in
                var matched: Int? = nil
                for (i, s) in list.nodes.enumerated() where self.check(s, value, depth: depth + 1) == nil {
                    if let first = matched { return SchemaFailure(.oneOfSeveral(first, i)) }
                    matched = i
                }
                return matched == nil ? SchemaFailure(.oneOfNone) : nil
            }
        case .not(let s):
            return self.check(s, value, depth: depth + 1) == nil ? SchemaFailure(.not) : nil
        case .conditional(let condition, let then, let otherwise):
            if self.check(condition, value, depth: depth + 1) == nil {
                if let then { return self.check(then, value, depth: depth + 1) }
            } else if let otherwise {
                return self.check(otherwise, value, depth: depth + 1)
            }
            return nil
        }
    }

    private func checkNumber(_ n: JSONNumber, _ b: NumberRules) -> SchemaFailure? {
        // Parse the value once for all bounds: as an integer when it is one
        // (exact), else as a Double.
        let value = NumberBound.Value(n)
        if let bound = b.minimum, bound.compare(value) < 0 { return SchemaFailure(.minimum(n, bound.number)) }
        if let bound = b.maximum, bound.compare(value) > 0 { return SchemaFailure(.maximum(n, bound.number)) }
        if let bound = b.exclusiveMinimum, bound.compare(value) <= 0 {
            return SchemaFailure(.exclusiveMinimum(n, bound.number))
        }
        if let bound = b.exclusiveMaximum, bound.compare(value) >= 0 {
            return SchemaFailure(.exclusiveMaximum(n, bound.number))
        }
        if let divisor = b.multipleOf, !Self.isMultiple(n, of: divisor) {
            return SchemaFailure(.multipleOf(n, divisor))
        }
        return nil
    }

    static func isMultiple(_ n: JSONNumber, of divisor: JSONNumber) -> Bool {
        if let v = Int64(n.text), let d = Int64(divisor.text), d != 0 { return v % d == 0 }
        let q = n.double / divisor.double
        if !q.isFinite { return false }
        // Decimal divisors (0.01) are not exact in binary: accept a quotient
        // within a few ulps of an integer.
        return abs(q - q.rounded()) <= max(1, abs(q)) * 1e-9
    }

    /// Lengths count Unicode code points. UTF-8 bounds settle most strings
    /// without counting: code points <= bytes <= 4 x code points.
    private func checkLength(_ s: String, min minimum: Int, max maximum: Int) -> SchemaFailure? {
        let bytes = s.utf8.count
        if bytes <= maximum && bytes >= minimum * 4 { return nil }
        let count = s.unicodeScalars.count
        if count < minimum { return SchemaFailure(.tooShort(count, minimum)) }
        if count > maximum { return SchemaFailure(.tooLong(count, maximum)) }
        return nil
    }

    private func checkObject(_ object: JSONObject, _ rules: ObjectRules, depth: Int) -> SchemaFailure? {
        let count = object.members.count
        // Each member's position in `properties` (-1: none), found once and
        // used by every pass below.
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: max(count, 1)) { positions in
            var present: UInt64 = 0
            for i in 0..<count {
                let key = object.members[i].key
                if let p = rules.position(of: key) {
                    positions[i] = p
                    if p < 64 { present |= 1 << UInt64(p) }
                } else {
                    positions[i] = -1
                    if case .forbidden = rules.additional,
                       !rules.patternProperties.contains(where: { $0.regex.matches(key) }) {
                        return SchemaFailure(.unknownField(key))
                    }
                }
            }
            if let required = rules.requiredPositions {
                for (n, p) in required.enumerated() where present & (1 << UInt64(p)) == 0 {
                    return SchemaFailure(.required, at: .key(rules.required[n]))
                }
            } else {
                for name in rules.required where object[name] == nil {
                    return SchemaFailure(.required, at: .key(name))
                }
            }
            for i in 0..<count {
                let member = object.members[i]
                var matched = false
                if positions[i] >= 0 {
                    matched = true
                    let node = rules.properties[positions[i]].node
                    if let f = check(node, member.value, depth: depth + 1) { return f.prefixed(.key(member.key)) }
                }
                for p in rules.patternProperties where p.regex.matches(member.key) {
                    matched = true
                    if let f = check(p.node, member.value, depth: depth + 1) { return f.prefixed(.key(member.key)) }
                }
                if !matched, case .schema(let node) = rules.additional {
                    if let f = check(node, member.value, depth: depth + 1) { return f.prefixed(.key(member.key)) }
                }
            }
            return checkObjectRest(object, rules, depth: depth)
        }
    }

    /// The rarer object keywords: propertyNames, dependentRequired,
    /// dependentSchemas, minProperties, maxProperties.
    private func checkObjectRest(_ object: JSONObject, _ rules: ObjectRules, depth: Int) -> SchemaFailure? {
        if let names = rules.propertyNames {
            for member in object.members {
                if let f = check(names, .string(member.key), depth: depth + 1) {
                    return SchemaFailure(.propertyName(f.reason), at: .key(member.key))
                }
            }
        }
        for dependency in rules.dependentRequired where object[dependency.name] != nil {
            for name in dependency.requires where object[name] == nil {
                return SchemaFailure(.requiredBy(dependency.name), at: .key(name))
            }
        }
        for dependency in rules.dependentSchemas where object[dependency.name] != nil {
            if let f = check(dependency.node, .object(object), depth: depth + 1) { return f }
        }
        if let minimum = rules.minProperties, object.count < minimum {
            return SchemaFailure(.tooFewProperties(object.count, minimum))
        }
        if let maximum = rules.maxProperties, object.count > maximum {
            return SchemaFailure(.tooManyProperties(object.count, maximum))
        }
        return nil
    }

    private func checkArray(_ items: [JSONValue], _ rules: ArrayRules, depth: Int) -> SchemaFailure? {
        if let minimum = rules.minItems, items.count < minimum {
            return SchemaFailure(.tooFewItems(items.count, minimum))
        }
        if let maximum = rules.maxItems, items.count > maximum {
            return SchemaFailure(.tooManyItems(items.count, maximum))
        }
        for (i, item) in items.enumerated() {
            let node = i < rules.prefixItems.count ? rules.prefixItems[i] : rules.items
            guard let node else { continue }
            if let f = check(node, item, depth: depth + 1) { return f.prefixed(.index(i)) }
        }
        if let contains = rules.contains {
            var count = 0
            for item in items where check(contains, item, depth: depth + 1) == nil { count += 1 }
            if count < rules.minContains || count > (rules.maxContains ?? Int.max) {
                return SchemaFailure(.contains(count, rules.minContains, rules.maxContains))
            }
        }
        if rules.uniqueItems, let (first, second) = Self.firstDuplicate(items) {
            return SchemaFailure(.duplicateItems(first, second))
        }
        return nil
    }

    /// Indices of the first pair of equal items. Pairwise for short arrays,
    /// hashed for long ones (O(n) instead of O(n^2) on a 1,000-item array).
    static func firstDuplicate(_ items: [JSONValue]) -> (Int, Int)? {
        if items.count <= 16 {
            for j in items.indices {
                for i in 0..<j where JSONStrictEquality.equal(items[i], items[j]) { return (i, j) }
            }
            return nil
        }
        var seen: [JSONStrictEquality.Key: Int] = [:]
        seen.reserveCapacity(items.count)
        for (j, item) in items.enumerated() {
            if let i = seen[JSONStrictEquality.Key(value: item)] { return (i, j) }
            seen[JSONStrictEquality.Key(value: item)] = j
        }
        return nil
    }
}

/// A violation on its way up: the path is collected in reverse as each level
/// returns, and the message is only formatted if someone reads it (failures
/// inside anyOf/oneOf/not are usually thrown away).
struct SchemaFailure: Sendable {
    var reversedPath: [SchemaViolation.PathComponent]
    var reason: SchemaFailureReason

    init(_ reason: SchemaFailureReason) {
        self.reversedPath = []
        self.reason = reason
    }

    init(_ reason: SchemaFailureReason, at component: SchemaViolation.PathComponent) {
        self.reversedPath = [component]
        self.reason = reason
    }

    func prefixed(_ component: SchemaViolation.PathComponent) -> SchemaFailure {
        var copy = self
        copy.reversedPath.append(component)
        return copy
    }
}

indirect enum SchemaFailureReason: Sendable {
    case evaluationTooDeep
    case falseSchema
    case constant(JSONValue)
    case enumeration(SchemaEnumeration)
    case type(expected: JSONTypeSet, actual: String)
    case minimum(JSONNumber, JSONNumber)
    case maximum(JSONNumber, JSONNumber)
    case exclusiveMinimum(JSONNumber, JSONNumber)
    case exclusiveMaximum(JSONNumber, JSONNumber)
    case multipleOf(JSONNumber, JSONNumber)
    case tooShort(Int, Int)
    case tooLong(Int, Int)
    case pattern(String)
    case format(SchemaFormat)
    case codeList(SchemaCodeList, String)
    case unknownField(String)
    case required
    case requiredBy(String)
    case propertyName(SchemaFailureReason)
    case tooFewProperties(Int, Int)
    case tooManyProperties(Int, Int)
    case tooFewItems(Int, Int)
    case tooManyItems(Int, Int)
    case contains(Int, Int, Int?)
    case duplicateItems(Int, Int)
    case ordered(OrderedPair, low: JSONValue, high: JSONValue)
    case anyOf
    case oneOfNone
    case oneOfSeveral(Int, Int)
    case not

    /// The rule in words. Numbers from the instance are quoted (they say by
    /// how much a bound is missed), cut to `echoedNumberBytesMax` like keys
    /// (a number may be 1 MiB of digits); strings never are, since they may
    /// be personal data, so error lines and logs stay free of PII.
    var message: String {
        switch self {
        case .evaluationTooDeep: return "schema evaluation too deep (recursive schema?)"
        case .falseSchema: return "not allowed"
        case .constant(let v): return "must be \(v.compactString)"
        case .enumeration(let e): return e.message
        case .type(let expected, let actual):
            return "must be \(expected.phrase), got \(actual)"
        case .minimum(let v, let b): return "\(echoed(v)) is less than the minimum \(echoed(b))"
        case .maximum(let v, let b): return "\(echoed(v)) is greater than the maximum \(echoed(b))"
        case .exclusiveMinimum(let v, let b): return "\(echoed(v)) must be greater than \(echoed(b))"
        case .exclusiveMaximum(let v, let b): return "\(echoed(v)) must be less than \(echoed(b))"
        case .multipleOf(let v, let b): return "\(echoed(v)) is not a multiple of \(echoed(b))"
        case .tooShort(let n, let m):
            return m == 1 ? "must not be empty" : "length \(n) is less than the minimum \(m)"
        case .tooLong(let n, let m): return "length \(n) is greater than the maximum \(m)"
        case .pattern(let p): return "must match the pattern \(p)"
        case .format(let f): return f.requirement
        case .codeList(let list, _):
            return "is not \(list.listName)"
        case .unknownField(let k):
            var quoted: [UInt8] = []
            JSONValue.writeString(k.utf8.count <= 64 ? k : String(k.prefix(32)) + "...", into: &quoted)
            return "unknown field \(String(decoding: quoted, as: UTF8.self))"
        case .required: return "required"
        case .requiredBy(let other): return "required when \(other) is present"
        case .propertyName(let inner): return "invalid field name: \(inner.message)"
        case .tooFewProperties(let n, let m): return "has \(n) fields, fewer than the minimum \(m)"
        case .tooManyProperties(let n, let m): return "has \(n) fields, more than the maximum \(m)"
        case .tooFewItems(let n, let m): return "has \(n) items, fewer than the minimum \(m)"
        case .tooManyItems(let n, let m): return "has \(n) items, more than the maximum \(m)"
        case .contains(let n, let lo, let hi):
            let range = hi.map { "\(lo) to \($0)" } ?? "at least \(lo)"
            return "has \(n) items matching contains, needs \(range)"
        case .duplicateItems(let i, let j): return "items \(i) and \(j) are equal; items must be unique"
        case .ordered(let pair, let low, let high):
            if case .number(let a) = low, case .number(let b) = high {
                return "\(pair.low) \(echoed(a)) > \(pair.high) \(echoed(b))"
            }
            return "\(pair.high) is before \(pair.low)"
        case .anyOf: return "matches none of the allowed alternatives (anyOf)"
        case .oneOfNone: return "matches none of the alternatives (oneOf)"
        case .oneOfSeveral(let i, let j): return "matches alternatives \(i) and \(j); exactly one allowed (oneOf)"
        case .not: return "matches a schema it must not match (not)"
        }
    }
}

/// Longest number quoted in an error message, in bytes: enough for any
/// number a person reads, and an answer line stays short however long the
/// number sent was.
let echoedNumberBytesMax = 64

/// `number` as an error message quotes it: its text, cut to
/// `echoedNumberBytesMax` bytes with "..." after.
func echoed(_ number: JSONNumber) -> String {
    let text = number.text.utf8
    guard text.count > echoedNumberBytesMax else { return number.text }
    // Number text is ASCII, so any cut is a character boundary.
    return String(decoding: text.prefix(echoedNumberBytesMax), as: UTF8.self) + "..."
}
