import Foundation
import TestSupport
import XCTest

@testable import CareerEvents

final class EnvelopeTests: XCTestCase {
    static let idText = "5f0c6b1e-8d2a-4c47-9b1e-3a2f6d7e8c90"
    static let subjectText = "0b7e4a52-1c3d-4e5f-8a9b-0c1d2e3f4a5b"

    /// A valid event; tests change one attribute at a time.
    static func event(_ changes: [(String, JSONValue?)] = []) -> JSONObject {
        var object = JSONObject([
            (key: "specversion", value: "1.0"),
            (key: "id", value: .string(idText)),
            (key: "source", value: "careerforge-api"),
            (key: "type", value: "skill.assessed"),
            (key: "subject", value: .string(subjectText)),
            (key: "time", value: "2024-05-01T14:00:00.250+02:00"),
            (key: "datacontenttype", value: "application/json"),
            (key: "data", value: ["skill": "Swift", "category": "technical", "level": "expert", "score": 87.5]),
        ])
        for (key, value) in changes { object[key] = value }
        return object
    }

    static func line(_ object: JSONObject) -> [UInt8] { JSONValue.object(object).compactBytes + [0x0A] }

    // MARK: Accepting

    func testDecodesAValidEvent() throws {
        let envelope = try Envelope.decode(line: Self.line(Self.event()))
        XCTAssertEqual(UUIDText.string(envelope.id), Self.idText)
        XCTAssertEqual(envelope.source, "careerforge-api")
        XCTAssertEqual(envelope.type, "skill.assessed")
        XCTAssertEqual(envelope.dataVersion, 1)
        XCTAssertEqual(UUIDText.string(envelope.subject), Self.subjectText)
        XCTAssertEqual(envelope.time.seconds, 1_714_564_800)
        XCTAssertEqual(envelope.time.nanoseconds, 250_000_000)
        XCTAssertEqual(envelope.data.keys, ["skill", "category", "level", "score"])
        XCTAssertEqual(envelope.data["score"]?.numberValue?.text, "87.5")
    }

    func testOptionalAttributes() throws {
        let minimal = Self.event([("specversion", nil), ("datacontenttype", nil)])
        XCTAssertEqual(try Envelope.decode(line: Self.line(minimal)).dataVersion, 1)
        XCTAssertEqual(try Envelope.decode(line: Self.line(Self.event([("dataversion", 3)]))).dataVersion, 3)
        // An integer written as 2.0 is still the integer 2 (as JSON Schema's "integer").
        let written = Self.event([("dataversion", .number(JSONNumber(text: "2.0")))])
        XCTAssertEqual(try Envelope.decode(line: Self.line(written)).dataVersion, 2)
        // Upper-case ids are read; the canonical form is lower case.
        let upper = Self.event([("id", .string(Self.idText.uppercased()))])
        XCTAssertEqual(UUIDText.string(try Envelope.decode(line: Self.line(upper)).id), Self.idText)
        // 200 two-byte characters are 200 characters, not 400.
        let wide = Self.event([("source", .string(String(repeating: "é", count: 200)))])
        XCTAssertNoThrow(try Envelope.decode(line: Self.line(wide)))
        // Attribute order does not matter; whitespace and the line's \n are JSON whitespace.
        let spaced = Array(" {\"data\":{},\"time\":\"2024-05-01T12:00:00Z\",\"subject\":\"\(Self.subjectText)\",\"type\":\"goal.set\",\"source\":\"x\",\"id\":\"\(Self.idText)\"}\r\n".utf8)
        XCTAssertEqual(try Envelope.decode(line: spaced).type, "goal.set")
    }

    func testCanonicalJSON() throws {
        let envelope = try Envelope.decode(line: Self.line(Self.event([("id", .string(Self.idText.uppercased()))])))
        let expected = #"{"id":"5f0c6b1e-8d2a-4c47-9b1e-3a2f6d7e8c90","source":"careerforge-api","type":"skill.assessed","dataversion":1,"subject":"0b7e4a52-1c3d-4e5f-8a9b-0c1d2e3f4a5b","time":"2024-05-01T14:00:00.250+02:00","data":{"skill":"Swift","category":"technical","level":"expert","score":87.5}}"#
        XCTAssertEqual(envelope.json.compactString, expected)
        var written: [UInt8] = []
        envelope.writeJSON(into: &written)
        XCTAssertEqual(String(decoding: written, as: UTF8.self), expected)
        let again = try Envelope.decode(line: written)
        XCTAssertEqual(again, envelope)
        XCTAssertEqual(try Envelope(json: envelope.json), envelope)
    }

    func testWriteJSONEscapesStrings() throws {
        let envelope = Envelope(
            id: UUID(), source: "a\"b", type: "t\n", dataVersion: 12, subject: UUID(),
            time: Timestamp(seconds: 0), data: JSONObject([(key: "k", value: "v")]))
        var written: [UInt8] = []
        envelope.writeJSON(into: &written)
        XCTAssertEqual(written, envelope.json.compactBytes)
        XCTAssertEqual(try Envelope.decode(line: written), envelope)
    }

    // MARK: Rejecting

    func testEnvelopeRejections() {
        let longSource = String(repeating: "s", count: 201)
        let cases: [(changes: [(String, JSONValue?)], path: String, reason: String)] = [
            ([("id", nil)], "id", "is required"),
            ([("source", nil)], "source", "is required"),
            ([("type", nil)], "type", "is required"),
            ([("subject", nil)], "subject", "is required"),
            ([("time", nil)], "time", "is required"),
            ([("data", nil)], "data", "is required"),
            ([("id", "5f0c6b1e8d2a4c479b1e3a2f6d7e8c90")], "id", "must be a UUID string in canonical 8-4-4-4-12 hex form"),
            ([("id", .string("{\(Self.idText)}"))], "id", "must be a UUID string in canonical 8-4-4-4-12 hex form"),
            ([("id", 17)], "id", "must be a UUID string in canonical 8-4-4-4-12 hex form"),
            ([("subject", "me")], "subject", "must be a UUID string in canonical 8-4-4-4-12 hex form"),
            ([("source", "")], "source", "must be a string of 1 to 200 characters"),
            ([("source", .string(longSource))], "source", "must be a string of 1 to 200 characters"),
            ([("source", nil)], "source", "is required"),
            ([("type", "")], "type", "must be a non-empty string naming an event type"),
            ([("type", ["skill.assessed"])], "type", "must be a non-empty string naming an event type"),
            ([("dataversion", 0)], "dataversion", "must be an integer >= 1"),
            ([("dataversion", -1)], "dataversion", "must be an integer >= 1"),
            ([("dataversion", 1.5)], "dataversion", "must be an integer >= 1"),
            ([("dataversion", "1")], "dataversion", "must be an integer >= 1"),
            ([("dataversion", .number(JSONNumber(text: "1e300")))], "dataversion", "must be an integer >= 1"),
            ([("time", "2024-05-01T12:00:00")], "time", "must be an RFC 3339 date-time with offset, e.g. 2024-05-01T12:00:00Z"),
            ([("time", "2024-05-01")], "time", "must be an RFC 3339 date-time with offset, e.g. 2024-05-01T12:00:00Z"),
            ([("time", 1_714_564_800)], "time", "must be an RFC 3339 date-time with offset, e.g. 2024-05-01T12:00:00Z"),
            ([("data", [])], "data", "must be an object"),
            ([("data", nil), ("data", .null)], "data", "must be an object"),
            ([("specversion", "1.1")], "specversion", #"must be "1.0""#),
            ([("specversion", 1.0)], "specversion", #"must be "1.0""#),
            ([("datacontenttype", "text/plain")], "datacontenttype", #"must be "application/json""#),
            ([("seq", 12)], "seq", "is not an envelope attribute (allowed: specversion, id, source, type, dataversion, subject, time, data, datacontenttype)"),
            ([("Time", "2024-05-01T12:00:00Z")], "Time", "is not an envelope attribute (allowed: specversion, id, source, type, dataversion, subject, time, data, datacontenttype)"),
        ]
        for (changes, path, reason) in cases {
            let label = "\(changes.map(\.0)) -> \(path)"
            guard let error = decodeError(Self.line(Self.event(changes))) else { XCTFail(label); continue }
            XCTAssertEqual(error.code, .schema, label)
            XCTAssertEqual(error.path, path, label)
            XCTAssertEqual(error.reason, reason, label)
            XCTAssertEqual(error.description, "\(path): \(reason)", label)
        }
    }

    func testErrorsEchoTheIDWhenReadable() {
        XCTAssertEqual(decodeError(Self.line(Self.event([("time", "yesterday")])))?.id, Self.idText)
        XCTAssertEqual(decodeError(Self.line(Self.event([("id", "evt-42")])))?.id, "evt-42")
        XCTAssertNil(decodeError(Self.line(Self.event([("id", 42)])))?.id)
        XCTAssertNil(decodeError(Self.line(Self.event([("id", nil)])))?.id)
        XCTAssertNil(decodeError(Self.line(Self.event([("id", .string(String(repeating: "x", count: 65)))])))?.id)
    }

    func testFirstProblemInWrittenOrderIsReported() {
        let object = JSONObject([
            (key: "id", value: .string(Self.idText)),
            (key: "time", value: "noon"),
            (key: "extra", value: true),
        ])
        XCTAssertEqual(decodeError(Self.line(object))?.path, "time")
        // Unknown attributes come before missing ones.
        XCTAssertEqual(decodeError(Array(#"{"extra":1}"#.utf8))?.path, "extra")
        XCTAssertEqual(decodeError(Array(#"{}"#.utf8))?.path, "id")
    }

    func testLongUnknownAttributeIsCutInThePath() {
        let name = String(repeating: "k", count: 100)
        let error = decodeError(Self.line(Self.event([(name, 1)])))
        XCTAssertEqual(error?.path, String(repeating: "k", count: 64) + "...")
    }

    func testWholeLineProblems() {
        let notObject = decodeError(Array("[1,2]".utf8))
        XCTAssertEqual(notObject?.code, .schema)
        XCTAssertNil(notObject?.path)
        XCTAssertEqual(notObject?.description, "an event must be a JSON object, not array")

        let truncated = decodeError(Array(#"{"id":"5f0c6b1e-8d2a-4c47-9b1e-3a2f6d7e8c90","data":{"#.utf8))
        XCTAssertEqual(truncated?.code, .parse)
        XCTAssertNil(truncated?.path)
        XCTAssertEqual(truncated?.reason, "invalid JSON at byte 53: unexpected end of input in object, expected a string key")

        let repeated = Array(#"{"id":"a","id":"b"}"#.utf8)
        XCTAssertEqual(decodeError(repeated)?.code, .parse)
        XCTAssertEqual(decodeError(repeated)?.reason, #"invalid JSON at byte 10: duplicate key "id""#)

        let deep = Self.line(Self.event([("data", ["a": [[[[[[[[[[1]]]]]]]]]]])]))
        let tooDeep = decodeError(deep, limits: JSONParseLimits(depthMax: 8))
        XCTAssertEqual(tooDeep?.code, .tooLarge)
        XCTAssertEqual(tooDeep?.reason.hasSuffix(": nesting deeper than 8 levels"), true)
        XCTAssertNoThrow(try Envelope.decode(line: deep))

        XCTAssertEqual(decodeError([])?.code, .parse)
        XCTAssertEqual(decodeError(Array("\n".utf8))?.code, .parse)
    }

    func testEventErrorCodesAreTheAckSpelling() {
        XCTAssertEqual(EventError.Code.parse.rawValue, "parse")
        XCTAssertEqual(EventError.Code.tooLarge.rawValue, "too_large")
        XCTAssertEqual(EventError.Code.unknownType.rawValue, "unknown_type")
        XCTAssertEqual(EventError.Code.schema.rawValue, "schema")
        XCTAssertEqual(EventError(code: .schema, path: "data.level", reason: "must be one of a, b").description, "data.level: must be one of a, b")
        XCTAssertEqual(EventError(code: .parse, reason: "bad").description, "bad")
    }

    // MARK: Helpers

    private func decodeError(_ line: [UInt8], limits: JSONParseLimits = .init()) -> EventError? {
        do {
            let envelope = try Envelope.decode(line: line, limits: limits)
            XCTFail("expected an error, got \(envelope.json.compactString)")
            return nil
        } catch {
            return error
        }
    }
}

final class UUIDTextTests: XCTestCase {
    func testParsesCanonicalFormInEitherCase() throws {
        let lower = "2eb8aa08-aa98-11ea-b4aa-73b441d16380"
        let uuid = try XCTUnwrap(UUIDText.parse(lower))
        XCTAssertEqual(uuid, UUID(uuidString: lower))
        XCTAssertEqual(UUIDText.parse(lower.uppercased()), uuid)
        XCTAssertEqual(UUIDText.parse("2eb8aa08-AA98-11ea-B4Aa-73B441D16380"), uuid)
        XCTAssertEqual(UUIDText.string(uuid), lower)
        XCTAssertEqual(UUIDText.parse("[\(lower)]".dropFirst().dropLast()), uuid)
        XCTAssertEqual(UUIDText.string(try XCTUnwrap(UUIDText.parse("00000000-0000-0000-0000-000000000000"))), "00000000-0000-0000-0000-000000000000")
        XCTAssertEqual(UUIDText.string(try XCTUnwrap(UUIDText.parse("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"))), "ffffffff-ffff-ffff-ffff-ffffffffffff")
    }

    func testStringMatchesFoundationLowercased() {
        for _ in 0..<200 {
            let uuid = UUID()
            XCTAssertEqual(UUIDText.string(uuid), uuid.uuidString.lowercased())
            XCTAssertEqual(UUIDText.parse(UUIDText.string(uuid)), uuid)
            var bytes: [UInt8] = [1]
            UUIDText.append(uuid, to: &bytes)
            XCTAssertEqual(bytes, [1] + Array(uuid.uuidString.lowercased().utf8))
        }
    }

    func testRejectsEveryOtherForm() {
        let invalid = [
            "", "2eb8aa08aa9811eab4aa73b441d16380", "{2eb8aa08-aa98-11ea-b4aa-73b441d16380}",
            "urn:uuid:2eb8aa08-aa98-11ea-b4aa-73b441d16380", " 2eb8aa08-aa98-11ea-b4aa-73b441d16380",
            "2eb8aa08-aa98-11ea-b4aa-73b441d16380 ", "2eb8aa08-aa98-11ea-b4aa-73b441d1638",
            "2eb8aa08-aa98-11ea-b4ga-73b441d16380", "2eb8aa0-8aa98-11e-ab4aa7-3b441d16380",
            "2eb8aa08-aa98-11ea-b4aa+73b441d16380", "2eb8aa08-aa98-11ea-b4aa-73b441d1638g",
        ]
        for text in invalid {
            XCTAssertNil(UUIDText.parse(text), text.debugDescription)
        }
    }

    func testUUIDFormatSuite() throws {
        let folder = try SharedTestData.folder("json-schema/draft2020-12/optional/format")
        let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent("uuid.json")))
        var checked = 0
        for group in try XCTUnwrap(try JSONParser.parse(bytes).arrayValue) {
            for test in try XCTUnwrap(group.objectValue?["tests"]?.arrayValue) {
                guard let object = test.objectValue, let text = object["data"]?.stringValue else { continue }
                let valid = try XCTUnwrap(object["valid"]?.boolValue)
                XCTAssertEqual(UUIDText.parse(text) != nil, valid, text.debugDescription)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 22)
    }
}

