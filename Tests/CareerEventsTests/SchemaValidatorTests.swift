import XCTest

@testable import CareerEvents

/// The validator beyond the conformance suites: which violation is reported
/// first, paths, messages, the extension keywords, limits and strictness.
final class SchemaValidatorTests: XCTestCase {
    func schema(_ json: String, options: JSONSchema.Options = .standard) throws -> JSONSchema {
        try JSONSchema(try JSONParser.parse(json), options: options)
    }

    func violation(_ schema: JSONSchema, _ instance: String) throws -> String? {
        schema.validate(try JSONParser.parse(instance)).map(\.description)
    }

    func testReportsUnknownFieldsFirstThenRequiredThenValues() throws {
        let s = try schema(#"""
            {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
             "required": ["b", "a"], "additionalProperties": false}
            """#)
        XCTAssertEqual(try violation(s, #"{"a": "x", "zz": 1}"#), #"unknown field "zz""#)
        XCTAssertEqual(try violation(s, #"{"a": "x"}"#), "b: required")
        XCTAssertEqual(try violation(s, #"{"b": 1}"#), "a: required")
        XCTAssertEqual(try violation(s, #"{"b": 1, "a": "x"}"#), "b: must be a string, got integer")
        XCTAssertEqual(try violation(s, #"{"a": "x", "b": 1}"#), "a: must be an integer, got string")
        XCTAssertNil(try violation(s, #"{"a": 1, "b": "x"}"#))
    }

    func testPathsThroughArraysAndOddKeys() throws {
        let s = try schema(#"""
            {"properties": {"list": {"items": {"properties": {"odd key": {"maximum": 3}}}}}}
            """#)
        let v = try XCTUnwrap(s.validate(try JSONParser.parse(#"{"list": [{}, {"odd key": 4}]}"#)))
        XCTAssertEqual(v.path, [.key("list"), .index(1), .key("odd key")])
        XCTAssertEqual(v.pathString(root: "data"), #"data.list[1]["odd key"]"#)
        XCTAssertEqual(v.reason, "4 is greater than the maximum 3")
    }

    func testMessages() throws {
        let cases: [(String, String, String)] = [
            (#"{"type": ["string", "null"]}"#, "1", "must be a string or null, got integer"),
            (#"{"const": {"a": 1}}"#, "1", #"must be {"a":1}"#),
            (#"{"enum": [1, "two", null]}"#, "3", "must be one of 1, two, null"),
            (#"{"exclusiveMaximum": 3}"#, "3", "3 must be less than 3"),
            (#"{"multipleOf": 0.01}"#, "0.125", "0.125 is not a multiple of 0.01"),
            (#"{"minLength": 2}"#, #""é""#, "length 1 is less than the minimum 2"),
            (#"{"uniqueItems": true}"#, "[1, 2, 1.0]", "items 0 and 2 are equal; items must be unique"),
            (#"{"contains": {"type": "string"}, "minContains": 2}"#, #"[1, "a"]"#,
             "has 1 items matching contains, needs at least 2"),
            (#"{"propertyNames": {"maxLength": 2}}"#, #"{"abc": 1}"#, "abc: invalid field name: length 3 is greater than the maximum 2"),
            (#"{"dependentRequired": {"a": ["b"]}}"#, #"{"a": 1}"#, "b: required when a is present"),
            (#"{"maxProperties": 1}"#, #"{"a": 1, "b": 2}"#, "has 2 fields, more than the maximum 1"),
            (#"{"not": {"type": "null"}}"#, "null", "matches a schema it must not match (not)"),
            (#"{"oneOf": [{"type": "integer"}, {"minimum": 0}]}"#, "1", "matches alternatives 0 and 1; exactly one allowed (oneOf)"),
            (#"{"anyOf": [{"type": "string"}]}"#, "1", "matches none of the allowed alternatives (anyOf)"),
            (#"{"if": {"minimum": 10}, "then": {"multipleOf": 10}}"#, "15", "15 is not a multiple of 10"),
            (#"{"x-code-list": "iso4217"}"#, #""ABC""#, "is not an ISO 4217 currency code"),
            // Instants, not text: 23:00-05:00 is 04:00Z the next day.
            (#"{"x-ordered": [["from", "to"]]}"#, #"{"from": "2024-01-01T23:00:00-05:00", "to": "2024-01-02T01:00:00Z"}"#,
             "to is before from"),
            (#"{"x-ordered": [["min", "max"]]}"#, #"{"min": 2.5, "max": 2}"#, "min 2.5 > max 2"),
            (#"false"#, "1", "not allowed"),
        ]
        for (schemaText, instance, expected) in cases {
            XCTAssertEqual(try violation(try schema(schemaText), instance), expected, schemaText)
        }
        // Equal, missing or incomparable members are not an ordering violation.
        let ordered = try schema(#"{"x-ordered": [["min", "max"]]}"#)
        for instance in [#"{"min": 2, "max": 2}"#, #"{"min": 2}"#, #"{"min": "a", "max": 1}"#] {
            XCTAssertNil(try violation(ordered, instance), instance)
        }
    }

    func testLongArraysUseHashedUniqueness() throws {
        let s = try schema(#"{"uniqueItems": true}"#)
        var items: [JSONValue] = (0..<100).map { .number(JSONNumber($0)) }
        XCTAssertTrue(s.isValid(.array(items)))
        items.append(["a": 1])
        items.append(.string("\u{e4}"))
        items.append(.string("a\u{308}"))  // canonically equivalent, different code points: distinct
        XCTAssertTrue(s.isValid(.array(items)))
        items.append(.number(JSONNumber(text: "42.0")))
        XCTAssertEqual(s.validate(.array(items))?.reason, "items 42 and 103 are equal; items must be unique")
    }

    func testRecursionIsBounded() throws {
        let s = try schema(##"{"$ref": "#"}"##)
        XCTAssertEqual(s.validate(1)?.reason, "schema evaluation too deep (recursive schema?)")
        let tree = try schema(##"{"properties": {"child": {"$ref": "#"}, "n": {"type": "integer"}}}"##)
        XCTAssertEqual(try violation(tree, #"{"child": {"child": {"n": "x"}}}"#), "child.child.n: must be an integer, got string")
    }

    func testStrictOptionsRejectUnknownKeywordsAndFormats() throws {
        XCTAssertNoThrow(try schema(#"{"maxLenght": 3, "format": "uri"}"#))
        XCTAssertThrowsError(try schema(#"{"maxLenght": 3}"#, options: .strict)) {
            XCTAssertEqual(($0 as? SchemaLoadError)?.reason, #"at /maxLenght: unknown keyword "maxLenght""#)
        }
        XCTAssertThrowsError(try schema(#"{"format": "uri"}"#, options: .strict))
        XCTAssertThrowsError(try schema(##"{"$schema": "http://json-schema.org/draft-07/schema#"}"##))
        XCTAssertThrowsError(try schema(##"{"$dynamicRef": "#x"}"##))
    }

    func testFormatsBeyondTheSuite() {
        let accepted = ["a@b", "first.last+tag@sub.example.co.uk", "x@[IPv6:2001:db8::1]", "x@[IPv6:::ffff:1.2.3.4]"]
        let rejected = ["a@b.", "a@-b.com", "a@b-.com", "a@" + String(repeating: "a", count: 64) + ".com",
                        String(repeating: "a", count: 65) + "@b.com", "x@[IPv6:1::2::3]", "x@[IPv6:1:2:3:4:5:6:7:8:9]",
                        "x@[01.2.3.4]", "é@example.com", "a\"b@example.com"]
        for email in accepted { XCTAssertTrue(SchemaFormat.email.accepts(email), email) }
        for email in rejected { XCTAssertFalse(SchemaFormat.email.accepts(email), email) }
        XCTAssertTrue(SchemaFormat.dateTime.accepts("1998-12-31T23:59:60Z"))
        XCTAssertFalse(SchemaFormat.dateTime.accepts("2024-05-01T12:00:00"))
        XCTAssertFalse(SchemaFormat.date.accepts("2023-02-29"))
        XCTAssertFalse(SchemaFormat.uuid.accepts("2eb8aa08-aa98-11ea-b4aa-73b441d1638g"))
    }
}
