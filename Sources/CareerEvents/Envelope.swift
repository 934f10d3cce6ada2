#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One event as the catalog's "Envelope" section defines it (CloudEvents 1.0
/// structured-mode attribute names), checked and typed.
///
///     {"specversion":"1.0",            optional, only "1.0"; not kept
///      "id":"<uuid>",                  required, canonical 8-4-4-4-12
///      "source":"careerforge-api",     required, 1...200 characters
///      "type":"skill.assessed",        required, non-empty (the schema registry knows the types)
///      "dataversion":1,                optional, integer >= 1, default 1
///      "subject":"<uuid>",             required, canonical 8-4-4-4-12
///      "time":"2024-05-01T12:00:00Z",  required, RFC 3339 with offset
///      "data":{...},                   required, an object (checked by its schema elsewhere)
///      "datacontenttype":"application/json"}   optional, only that; not kept
///
/// Any other top-level attribute is rejected, so nothing a producer sends is
/// silently dropped.
public struct Envelope: Sendable, Equatable {
    public var id: UUID
    public var source: String
    public var type: String
    public var dataVersion: Int
    public var subject: UUID
    public var time: Timestamp
    public var data: JSONObject

    /// `source` length bound, in Unicode scalars (as JSON Schema counts).
    public static let sourceCharactersMax = 200
    /// Longest `id` text echoed in an error: a canonical UUID is 36 bytes;
    /// the slack covers near-misses a producer may send (`urn:uuid:` plus a
    /// UUID is 45) without reflecting an arbitrarily large value back.
    public static let echoedIDBytesMax = 64
    /// Longest attribute name quoted as an error path.
    static let pathBytesMax = 64

    public init(
        id: UUID, source: String, type: String, dataVersion: Int = 1,
        subject: UUID, time: Timestamp, data: JSONObject
    ) {
        self.id = id
        self.source = source
        self.type = type
        self.dataVersion = dataVersion
        self.subject = subject
        self.time = time
        self.data = data
    }

    /// Parses and checks one event line (the trailing `\n` may be present
    /// or not: it is JSON whitespace).
    ///
    /// Errors: `.parse` for invalid JSON (reason carries the byte offset),
    /// `.tooLarge` for nesting beyond `limits.depthMax`, `.schema` for an
    /// envelope problem (with the attribute as path).
    public static func decode(
        line: UnsafeRawBufferPointer, limits: JSONParseLimits = .init()
    ) throws(EventError) -> Envelope {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line, limits: limits)
        } catch {
            throw EventError(
                code: error.exceedsLimit ? .tooLarge : .parse,
                reason: (error.exceedsLimit ? "JSON " : "invalid JSON ") + error.description)
        }
        return try Envelope(json: value)
    }

    /// `decode(line:limits:)` for a byte array.
    public static func decode(
        line: [UInt8], limits: JSONParseLimits = .init()
    ) throws(EventError) -> Envelope {
        let result = line.withUnsafeBytes { raw in
            Result { () throws(EventError) in try decode(line: raw, limits: limits) }
        }
        return try result.get()
    }

    /// Checks a parsed event against the envelope rules. Attributes are
    /// checked in written order, so the first problem in the line is the
    /// one reported; missing attributes are reported after that.
    public init(json: JSONValue) throws(EventError) {
        guard case .object(let object) = json else {
            throw EventError(code: .schema, reason: "an event must be a JSON object, not \(json.typeName)")
        }
        func problem(_ path: String, _ reason: String) -> EventError {
            EventError(code: .schema, path: path, reason: reason, id: Self.echoableID(in: object))
        }

        var id: UUID?
        var source: String?
        var type: String?
        var dataVersion = 1
        var subject: UUID?
        var time: Timestamp?
        var data: JSONObject?
        for member in object.members {
            switch Self.attribute(member.key) {
            case .id:
                guard case .string(let text) = member.value, let uuid = UUIDText.parse(text) else {
                    throw problem("id", Reason.uuid)
                }
                id = uuid
            case .source:
                guard case .string(let text) = member.value, Self.isValidSource(text) else {
                    throw problem("source", "must be a string of 1 to \(Self.sourceCharactersMax) characters")
                }
                guard !text.utf8.contains(0) else { throw problem("source", "must not contain U+0000") }
                source = text
            case .type:
                guard case .string(let text) = member.value, !text.isEmpty else {
                    throw problem("type", "must be a non-empty string naming an event type")
                }
                type = text
            case .dataversion:
                guard case .number(let number) = member.value, let version = number.int64,
                      version >= 1, version <= Int64(Int32.max)
                else { throw problem("dataversion", "must be an integer >= 1") }
                dataVersion = Int(version)
            case .subject:
                guard case .string(let text) = member.value, let uuid = UUIDText.parse(text) else {
                    throw problem("subject", Reason.uuid)
                }
                subject = uuid
            case .time:
                guard case .string(let text) = member.value, let stamp = Timestamp(rfc3339: text) else {
                    throw problem("time", "must be an RFC 3339 date-time with offset, e.g. 2024-05-01T12:00:00Z")
                }
                // Year 0000 has no counterpart in PostgreSQL (the read models).
                guard !text.hasPrefix("0000") else { throw problem("time", "year 0000 is not supported: use 0001 to 9999") }
                time = stamp
            case .data:
                guard case .object(let payload) = member.value else {
                    throw problem("data", "must be an object")
                }
                data = payload
            case .specversion:
                guard case .string("1.0") = member.value else { throw problem("specversion", #"must be "1.0""#) }
            case .datacontenttype:
                guard case .string("application/json") = member.value else {
                    throw problem("datacontenttype", #"must be "application/json""#)
                }
            case nil:
                throw problem(Self.attributePath(member.key), Reason.unknownAttribute)
            }
        }

        guard let id else { throw problem("id", Reason.required) }
        guard let source else { throw problem("source", Reason.required) }
        guard let type else { throw problem("type", Reason.required) }
        guard let subject else { throw problem("subject", Reason.required) }
        guard let time else { throw problem("time", Reason.required) }
        guard let data else { throw problem("data", Reason.required) }
        self.init(id: id, source: source, type: type, dataVersion: dataVersion,
                  subject: subject, time: time, data: data)
    }

    /// The canonical envelope: id, source, type, dataversion, subject, time,
    /// data, in that order; `dataversion` always present; ids lower case;
    /// `time` as written (offset and fraction digits kept).
    public var json: JSONValue {
        .object(JSONObject([
            (key: "id", value: .string(UUIDText.string(id))),
            (key: "source", value: .string(source)),
            (key: "type", value: .string(type)),
            (key: "dataversion", value: .number(JSONNumber(dataVersion))),
            (key: "subject", value: .string(UUIDText.string(subject))),
            (key: "time", value: .string(time.rfc3339)),
            (key: "data", value: .object(data)),
        ]))
    }

    /// Appends the compact text of `json` to `out` without building the
    /// intermediate `JSONValue` (the log writer's path); same bytes as
    /// `json.compactBytes`.
    public func writeJSON(into out: inout [UInt8]) {
        JSONValue.appendStatic(#"{"id":""#, to: &out)
        UUIDText.append(id, to: &out)
        JSONValue.appendStatic(#"","source":"#, to: &out)
        JSONValue.writeString(source, into: &out)
        JSONValue.appendStatic(#","type":"#, to: &out)
        JSONValue.writeString(type, into: &out)
        JSONValue.appendStatic(#","dataversion":"#, to: &out)
        out.append(contentsOf: String(dataVersion).utf8)
        JSONValue.appendStatic(#","subject":""#, to: &out)
        UUIDText.append(subject, to: &out)
        JSONValue.appendStatic(#"","time":""#, to: &out)
        time.appendRFC3339(to: &out)
        JSONValue.appendStatic(#"","data":"#, to: &out)
        JSONValue.object(data).write(into: &out)
        out.append(UInt8(ascii: "}"))
    }

    // MARK: Helpers

    private enum Attribute {
        case specversion, id, source, type, dataversion, subject, time, data, datacontenttype
    }

    /// Which attribute `key` names. Dispatching on the UTF-8 length first
    /// means one string comparison per key instead of one per case (a
    /// `switch` over strings compares them in turn).
    private static func attribute(_ key: String) -> Attribute? {
        switch key.utf8.count {
        case 2: return key == "id" ? .id : nil
        case 4: return key == "type" ? .type : key == "time" ? .time : key == "data" ? .data : nil
        case 6: return key == "source" ? .source : nil
        case 7: return key == "subject" ? .subject : nil
        case 11: return key == "dataversion" ? .dataversion : key == "specversion" ? .specversion : nil
        case 15: return key == "datacontenttype" ? .datacontenttype : nil
        default:
            // A key can equal an attribute name under Unicode canonical
            // equivalence with another length ("K" and KELVIN SIGN); none of
            // the names has such a letter, but stay exact for other lengths.
            for (name, attribute) in attributeNames where key == name { return attribute }
            return nil
        }
    }

    private static let attributeNames: [(String, Attribute)] = [
        ("specversion", .specversion), ("id", .id), ("source", .source), ("type", .type),
        ("dataversion", .dataversion), ("subject", .subject), ("time", .time), ("data", .data),
        ("datacontenttype", .datacontenttype),
    ]

    private enum Reason {
        static let required = "is required"
        static let uuid = "must be a UUID string in canonical 8-4-4-4-12 hex form"
        static let unknownAttribute =
            "is not an envelope attribute (allowed: specversion, id, source, type, dataversion, subject, time, data, datacontenttype)"
    }

    private static func isValidSource(_ text: String) -> Bool {
        let bytes = text.utf8.count
        if bytes == 0 { return false }
        // Scalars <= bytes, so only long byte strings need counting.
        return bytes <= sourceCharactersMax || text.unicodeScalars.count <= sourceCharactersMax
    }

    /// The `id` text, when it is a string short enough to echo back.
    private static func echoableID(in object: JSONObject) -> String? {
        guard case .string(let text) = object["id"], text.utf8.count <= echoedIDBytesMax else { return nil }
        return text
    }

    /// An unknown attribute's name as an error path, cut to a readable size.
    private static func attributePath(_ key: String) -> String {
        if key.utf8.count <= pathBytesMax { return key }
        return String(decoding: key.utf8.prefix(pathBytesMax), as: UTF8.self) + "..."
    }
}
