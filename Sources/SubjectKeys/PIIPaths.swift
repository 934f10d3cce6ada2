import Foundation
import CareerEvents

/// The PII paths of one event type and version, compiled once for the hot
/// path: `SchemaRegistry.piiFields` gives them as text ("email",
/// "location.city", "experience[].company", "certifications[]").
///
/// A path is a list of steps from the `data` object: a member by name, or
/// "every item" of an array (`[]` after a name).
public struct PIIPaths: Sendable, Equatable {
    enum Step: Sendable, Equatable {
        case member(String)
        case eachItem
    }

    /// The paths as the schema registry wrote them, in its order.
    public let texts: [String]
    let compiled: [[Step]]

    /// An empty set: the type has no PII fields.
    public static let none = PIIPaths(uncheckedTexts: [])

    /// Compiles `paths`; a path with an empty member name ("a..b", ".a",
    /// "[]") is a programmer error in the schema registry, so it stops here.
    public init(_ paths: [String]) {
        self.init(uncheckedTexts: paths)
    }

    private init(uncheckedTexts paths: [String]) {
        texts = paths
        compiled = paths.map(Self.compile)
    }

    /// True when there are no paths at all.
    public var isEmpty: Bool { compiled.isEmpty }

    static func compile(_ path: String) -> [Step] {
        var steps: [Step] = []
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            var name = Substring(part)
            var items = 0
            while name.hasSuffix("[]") {
                name = name.dropLast(2)
                items += 1
            }
            precondition(!name.isEmpty, "PII path \"\(path)\" has an empty member name")
            steps.append(.member(String(name)))
            steps.append(contentsOf: repeatElement(.eachItem, count: items))
        }
        return steps
    }

    /// True when `data` holds at least one PII value that is not `null`:
    /// the event needs its subject's key (or, for an erased subject, nulls).
    public func hasValue(in data: JSONObject) -> Bool {
        for steps in compiled where Self.hasValue(in: data, steps[...]) { return true }
        return false
    }

    /// True when `data` holds a PII member at all, `null` or not: a stored
    /// event whose PII was withheld (stored as `null` for an erased subject)
    /// still has its members, so readers can mark it redacted.
    public func hasMember(in data: JSONObject) -> Bool {
        for steps in compiled {
            guard case .member(let name)? = steps.first, data[name] != nil else { continue }
            return true
        }
        return false
    }

    private static func hasValue(in object: JSONObject, _ steps: ArraySlice<Step>) -> Bool {
        guard case .member(let name)? = steps.first, let value = object[name] else { return false }
        return hasValue(in: value, steps.dropFirst())
    }

    private static func hasValue(in value: JSONValue, _ steps: ArraySlice<Step>) -> Bool {
        guard let step = steps.first else { return !value.isNull }
        switch (step, value) {
        case (.member, .object(let object)):
            return hasValue(in: object, steps)
        case (.eachItem, .array(let items)):
            return items.contains { hasValue(in: $0, steps.dropFirst()) }
        default:
            return false
        }
    }

    /// Replaces every PII value in `data` by `null`; returns the values
    /// taken out with their JSON Pointers (RFC 6901), in path order.
    func extract(from data: inout JSONObject) -> [(pointer: String, value: JSONValue)] {
        var found: [(pointer: String, value: JSONValue)] = []
        for steps in compiled {
            Self.extract(from: &data, steps[...], pointer: "", into: &found)
        }
        return found
    }

    private static func extract(
        from object: inout JSONObject, _ steps: ArraySlice<Step>, pointer: String,
        into found: inout [(pointer: String, value: JSONValue)]
    ) {
        guard case .member(let name)? = steps.first,
              let index = object.members.firstIndex(where: { $0.key == name }) else { return }
        let here = pointer + "/" + JSONPointer.escape(name)
        let rest = steps.dropFirst()
        if rest.isEmpty {
            let value = object.members[index].value
            guard !value.isNull else { return }
            found.append((here, value))
            object.members[index].value = .null
            return
        }
        var value = object.members[index].value
        object.members[index].value = .null  // drop the reference so `value` mutates in place
        extract(from: &value, rest, pointer: here, into: &found)
        object.members[index].value = value
    }

    private static func extract(
        from value: inout JSONValue, _ steps: ArraySlice<Step>, pointer: String,
        into found: inout [(pointer: String, value: JSONValue)]
    ) {
        switch (steps.first, value) {
        case (.member?, .object(var object)):
            value = .null
            extract(from: &object, steps, pointer: pointer, into: &found)
            value = .object(object)
        case (.eachItem?, .array(var items)):
            value = .null
            let rest = steps.dropFirst()
            for i in items.indices {
                let here = pointer + "/" + String(i)
                if rest.isEmpty {
                    guard !items[i].isNull else { continue }
                    found.append((here, items[i]))
                    items[i] = .null
                } else {
                    extract(from: &items[i], rest, pointer: here, into: &found)
                }
            }
            value = .array(items)
        default:
            return
        }
    }
}

/// RFC 6901 JSON Pointers over `JSONValue`, as the sealed plaintext uses them.
enum JSONPointer {
    static func escape(_ name: String) -> String {
        // A byte scan: `String.contains(String)` goes through Foundation and
        // cost more than the rest of sealing together.
        guard name.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return name }
        return name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func unescape(_ token: Substring) -> String {
        guard token.utf8.contains(UInt8(ascii: "~")) else { return String(token) }
        return token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    /// Puts `newValue` at `pointer` inside `object`, where a `null` must
    /// stand now; false when the pointer leads nowhere or not to a `null`.
    static func restore(_ newValue: JSONValue, at pointer: String, in object: inout JSONObject) -> Bool {
        guard pointer.utf8.first == UInt8(ascii: "/") else { return false }
        let name = pointer.utf8.dropFirst()
        if !name.contains(UInt8(ascii: "/")) && !name.contains(UInt8(ascii: "~")) {
            // A top-level member, as every PII field of the catalog is: no
            // token splitting, no re-wrapping of the whole object.
            let key = String(Substring(name))
            guard let index = object.members.firstIndex(where: { $0.key == key }), object.members[index].value.isNull else { return false }
            object.members[index].value = newValue
            return true
        }
        let tokens = pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(unescape)
        var root = JSONValue.object(object)
        object = JSONObject()  // drop the reference so `root` mutates in place
        let done = restore(newValue, tokens[...], in: &root)
        if case .object(let restored) = root { object = restored }
        return done
    }

    private static func restore(_ newValue: JSONValue, _ tokens: ArraySlice<String>, in value: inout JSONValue) -> Bool {
        guard let token = tokens.first else {
            guard value.isNull else { return false }
            value = newValue
            return true
        }
        switch value {
        case .object(var object):
            guard let index = object.members.firstIndex(where: { $0.key == token }) else { return false }
            value = .null
            var child = object.members[index].value
            object.members[index].value = .null
            let done = restore(newValue, tokens.dropFirst(), in: &child)
            object.members[index].value = child
            value = .object(object)
            return done
        case .array(var items):
            guard let index = Int(token), String(index) == token, items.indices.contains(index) else { return false }
            value = .null
            let done = restore(newValue, tokens.dropFirst(), in: &items[index])
            value = .array(items)
            return done
        default:
            return false
        }
    }
}
