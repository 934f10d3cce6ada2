import Foundation
import XCTest

@testable import CareerEvents

/// Loading `EventSchemas/`-style directories: what loads, and that every
/// broken file stops the load with its name and a precise reason.
final class SchemaRegistryTests: XCTestCase {
    static let defs = #"""
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://careerlog.dev/schemas/defs.json",
         "$defs": {"name": {"type": "string", "minLength": 1, "maxLength": 10}}}
        """#

    static func event(_ type: String, _ version: Int, properties: String = #""name": {"$ref": "../defs.json#/$defs/name"}"#,
                      extra: String = "") -> String {
        """
        {"$schema": "https://json-schema.org/draft/2020-12/schema",
         "$id": "https://careerlog.dev/schemas/\(type)/\(version)", "title": "\(type)", "type": "object",
         "properties": {\(properties)}, "additionalProperties": false\(extra)}
        """
    }

    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "schema-registry-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
    }

    func assertLoadFails(file: String, reasonContains fragment: String, line: UInt = #line) {
        do {
            _ = try SchemaRegistry(directory: directory)
            XCTFail("loaded", line: line)
        } catch {
            XCTAssertEqual(error.file, file, "\(error)", line: line)
            XCTAssertTrue(error.reason.contains(fragment), "\(error)", line: line)
        }
    }

    func testLoadsVersionsAndValidatesEach() throws {
        try write("defs.json", Self.defs)
        try write("a.b.v1.json", Self.event("a.b", 1))
        try write("a.b.v2.json", Self.event("a.b", 2, properties: #""count": {"type": "integer"}"#))
        try write("README.md", "not a schema")
        let registry = try SchemaRegistry(directory: directory)
        XCTAssertEqual(registry.types, ["a.b"])
        XCTAssertEqual(registry.versions(of: "a.b"), [1, 2])
        XCTAssertEqual(registry.versions(of: "c.d"), [])
        XCTAssertNoThrow(try registry.validate(type: "a.b", version: 1, data: (["name": "x"] as JSONValue).objectValue!))
        XCTAssertNoThrow(try registry.validate(type: "a.b", version: 2, data: (["count": 3] as JSONValue).objectValue!))
        XCTAssertThrowsError(try registry.validate(type: "a.b", version: 2, data: (["name": "x"] as JSONValue).objectValue!)) {
            XCTAssertEqual(($0 as? EventError)?.description, #"data: unknown field "name""#)
        }
        XCTAssertThrowsError(try registry.validate(type: "a.b", version: 3, data: JSONObject())) {
            XCTAssertEqual(($0 as? EventError)?.description, "dataversion: a.b has no dataversion 3 (known: 1, 2)")
        }
    }

    func testBrokenFilesStopTheLoadWithTheirName() throws {
        let cases: [(name: String, text: String, reason: String)] = [
            ("a.b.v1.json", #"{"type": "object",}"#, "not valid JSON"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""name": {"type": "string", "maxLenght": 3}"#),
             #"at /properties/name/maxLenght: unknown keyword "maxLenght""#),
            ("a.b.v1.json", Self.event("a.c", 1), "$id must be https://careerlog.dev/schemas/a.b/1"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""loc": {"type": "object", "properties": {}}"#),
             #"at /properties/loc: an object schema must say "additionalProperties": false"#),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""x": {"$ref": "../defs.json#/$defs/nope"}"#),
             "points to nothing"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""x": {"$ref": "other.json"}"#), "does not resolve"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""x": {"type": "string", "pattern": "(?=a)"}"#),
             "lookaround"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""x": {"type": "string", "format": "uri"}"#),
             #"unknown format "uri""#),
            ("a.b.v1.json", Self.event("a.b", 1, extra: #", "unevaluatedProperties": false"#), "not supported"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""x": {"type": "strin"}"#), "type must name JSON types"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""x": {"type": "string", "x-code-list": "iso639"}"#),
             "x-code-list must be one of"),
            ("a.b.v1.json", Self.event("a.b", 1, extra: #", "x-ordered": [["min"]]"#), "x-ordered must be"),
            ("a.b.v1.json", Self.event("a.b", 1, properties: #""x": {"minLength": -1}"#), "non-negative integer"),
            ("shared.json", #"{"$defs": {}}"#, "needs a $id"),
        ]
        for c in cases {
            try setUpWithError()
            try write("defs.json", Self.defs)
            try write(c.name, c.text)
            if c.name != "a.b.v1.json" { try write("a.b.v1.json", Self.event("a.b", 1)) }
            assertLoadFails(file: c.name, reasonContains: c.reason)
            try tearDownWithError()
        }
    }

    func testAnErrorInAnUnusedSharedDefinitionIsFound() throws {
        try write("defs.json", #"{"$id": "https://careerlog.dev/schemas/defs.json", "$defs": {"x": {"type": 5}}}"#)
        try write("a.b.v1.json", Self.event("a.b", 1, properties: ""))
        assertLoadFails(file: "defs.json", reasonContains: "at /$defs/x/type")
    }

    func testDuplicateIDIsRejected() throws {
        try write("defs.json", Self.defs)
        try write("more.json", Self.defs)
        try write("a.b.v1.json", Self.event("a.b", 1))
        assertLoadFails(file: "more.json", reasonContains: "already used by defs.json")
    }

    func testEmptyAndMissingDirectories() throws {
        assertLoadFails(file: directory, reasonContains: "no event schema")
        let missing = directory + "/missing"
        XCTAssertThrowsError(try SchemaRegistry(directory: missing)) {
            XCTAssertEqual(($0 as? SchemaLoadError)?.file, missing)
        }
    }

    func testDirectoryNamesThatLookLikeURISyntax() throws {
        directory += "/odd #dir?"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write("defs.json", Self.defs)
        try write("a.b.v1.json", Self.event("a.b", 1))
        XCTAssertEqual(try SchemaRegistry(directory: directory).types, ["a.b"])
        XCTAssertEqual(SchemaRegistry.percentEncodedPath("/a b/c#d?é"), "/a%20b/c%23d%3F%C3%A9")
    }

    func testOversizedFileIsRejectedBeforeReading() throws {
        try write("defs.json", Self.defs)
        try write("a.b.v1.json", Self.event("a.b", 1))
        try write("big.json", String(repeating: " ", count: SchemaRegistry.fileBytesMax + 1))
        assertLoadFails(file: "big.json", reasonContains: "larger than 1048576 bytes")
    }

    func testEventFileNames() {
        XCTAssertTrue(SchemaRegistry.eventFileName("skill.assessed.v1.json")! == ("skill.assessed", 1))
        XCTAssertTrue(SchemaRegistry.eventFileName("mentorship.session_held.v12.json")! == ("mentorship.session_held", 12))
        for name in ["defs.json", "skill.assessed.v01.json", "skill.assessed.v0.json", "Skill.assessed.v1.json",
                     "skill.v1.json", "skill.assessed.1.json", "skill.assessed.v1.yaml", "skill..assessed.v1.json"] {
            XCTAssertNil(SchemaRegistry.eventFileName(name), name)
        }
    }

    func testBundledDirectoryHonoursTheEnvironment() throws {
        let saved = ProcessInfo.processInfo.environment["CAREERLOG_SCHEMA_DIR"]
        defer {
            if let saved { setenv("CAREERLOG_SCHEMA_DIR", saved, 1) } else { unsetenv("CAREERLOG_SCHEMA_DIR") }
        }
        setenv("CAREERLOG_SCHEMA_DIR", directory, 1)
        XCTAssertEqual(SchemaRegistry.bundledDirectory(), directory)
        unsetenv("CAREERLOG_SCHEMA_DIR")
        // Found by walking up from the test executable or the current directory.
        let found = try XCTUnwrap(SchemaRegistry.bundledDirectory())
        XCTAssertTrue(found.hasSuffix("/EventSchemas"), found)
        XCTAssertNoThrow(try SchemaRegistry(directory: found))
    }
}
