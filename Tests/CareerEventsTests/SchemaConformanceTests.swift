import Foundation
import TestSupport
import XCTest

@testable import CareerEvents

/// The JSON Schema Test Suite (draft 2020-12) for every keyword an event
/// schema may use, and `optional/format/` for the four formats the catalog
/// needs. Each file is a list of {description, schema, tests: [{description,
/// data, valid}]}; every case must give the expected answer.
final class SchemaConformanceTests: XCTestCase {
    /// Cases that rely on what this validator deliberately does not
    /// implement. Their schemas fail to compile (the compiler refuses what it
    /// cannot honour instead of ignoring it), so the whole group is skipped.
    /// `testSkipListIsExact` fails if an entry stops matching a group.
    static let skippedGroups: [(file: String, group: String, why: String)] = [
        // Remote $ref to the draft 2020-12 metaschema; the metaschema itself
        // needs $dynamicRef/$dynamicAnchor and remote vocabulary documents.
        ("defs.json", "validate definition against metaschema", "remote $ref to the metaschema"),
        ("ref.json", "remote ref, containing refs itself", "remote $ref to the metaschema"),
        // unevaluatedProperties needs annotation collection, which this
        // validator does not do (event schemas use additionalProperties: false).
        ("ref.json", "ref creates new scope when adjacent to keywords", "unevaluatedProperties"),
        ("not.json", "collect annotations inside a 'not', even if collection is disabled", "unevaluatedProperties"),
    ]

    static let keywordFiles = [
        "additionalProperties.json", "allOf.json", "anyOf.json", "boolean_schema.json", "const.json",
        "defs.json", "enum.json", "exclusiveMaximum.json", "exclusiveMinimum.json", "items.json",
        "maxItems.json", "maxLength.json", "maximum.json", "minItems.json", "minLength.json", "minimum.json",
        "not.json", "oneOf.json", "pattern.json", "prefixItems.json", "properties.json", "ref.json",
        "required.json", "type.json", "uniqueItems.json",
    ]
    static let formatFiles = ["uuid.json", "date-time.json", "date.json", "email.json"]

    // One test per file, so a failure names the keyword.
    func testAdditionalProperties() throws { try run("additionalProperties.json", expectedCases: 21) }
    func testAllOf() throws { try run("allOf.json", expectedCases: 30) }
    func testAnyOf() throws { try run("anyOf.json", expectedCases: 18) }
    func testBooleanSchema() throws { try run("boolean_schema.json", expectedCases: 18) }
    func testConst() throws { try run("const.json", expectedCases: 54) }
    func testDefs() throws { try run("defs.json", expectedCases: 0) }
    func testEnum() throws { try run("enum.json", expectedCases: 51) }
    func testExclusiveMaximum() throws { try run("exclusiveMaximum.json", expectedCases: 4) }
    func testExclusiveMinimum() throws { try run("exclusiveMinimum.json", expectedCases: 4) }
    func testItems() throws { try run("items.json", expectedCases: 29) }
    func testMaxItems() throws { try run("maxItems.json", expectedCases: 6) }
    func testMaxLength() throws { try run("maxLength.json", expectedCases: 7) }
    func testMaximum() throws { try run("maximum.json", expectedCases: 8) }
    func testMinItems() throws { try run("minItems.json", expectedCases: 6) }
    func testMinLength() throws { try run("minLength.json", expectedCases: 7) }
    func testMinimum() throws { try run("minimum.json", expectedCases: 11) }
    func testNot() throws { try run("not.json", expectedCases: 38) }
    func testOneOf() throws { try run("oneOf.json", expectedCases: 27) }
    func testPattern() throws { try run("pattern.json", expectedCases: 12) }
    func testPrefixItems() throws { try run("prefixItems.json", expectedCases: 11) }
    func testProperties() throws { try run("properties.json", expectedCases: 28) }
    func testRef() throws { try run("ref.json", expectedCases: 76) }
    func testRequired() throws { try run("required.json", expectedCases: 18) }
    func testType() throws { try run("type.json", expectedCases: 80) }
    func testUniqueItems() throws { try run("uniqueItems.json", expectedCases: 69) }

    func testFormatUUID() throws { try run("optional/format/uuid.json", expectedCases: 28) }
    func testFormatDateTime() throws { try run("optional/format/date-time.json", expectedCases: 33) }
    func testFormatDate() throws { try run("optional/format/date.json", expectedCases: 81) }
    func testFormatEmail() throws { try run("optional/format/email.json", expectedCases: 27) }

    /// Every keyword file in the folder has a test above (a new file added
    /// to testdata must not go unrun).
    func testEveryKeywordFileIsRun() throws {
        let folder = try Self.suiteFolder()
        let present = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(present, Self.keywordFiles.sorted())
    }

    /// Each skip entry names a group that exists and fails to compile, so
    /// the list stays exact.
    func testSkipListIsExact() throws {
        let folder = try Self.suiteFolder()
        for entry in Self.skippedGroups {
            let groups = try Self.loadGroups(folder + "/" + entry.file)
            let matching = groups.filter { $0.description == entry.group }
            XCTAssertEqual(matching.count, 1, "skip entry \(entry.file) / \(entry.group) matches no single group")
            for group in matching {
                XCTAssertThrowsError(try JSONSchema(group.schema), "\(entry.group) now compiles: run it instead")
            }
        }
    }

    // MARK: Runner

    struct Group {
        var description: String
        var schema: JSONValue
        var tests: [(description: String, data: JSONValue, valid: Bool)]
    }

    /// Runs one suite file; `expectedCases` is the number of cases run
    /// (total minus skipped groups), so a runner that silently ran nothing
    /// would fail.
    private func run(_ file: String, expectedCases: Int, line: UInt = #line) throws {
        let path = try Self.suiteFolder() + "/" + file
        var ran = 0
        let name = (file as NSString).lastPathComponent
        for group in try Self.loadGroups(path) {
            if Self.skippedGroups.contains(where: { $0.file == name && $0.group == group.description }) { continue }
            let schema: JSONSchema
            do {
                schema = try JSONSchema(group.schema)
            } catch {
                XCTFail("\(file) / \(group.description): schema does not compile: \(error)", line: line)
                continue
            }
            for test in group.tests {
                ran += 1
                let violation = schema.validate(test.data)
                XCTAssertEqual(
                    violation == nil, test.valid,
                    "\(file) / \(group.description) / \(test.description): expected \(test.valid ? "valid" : "invalid")"
                        + (violation.map { ", got \($0)" } ?? ""),
                    line: line)
                // isValid must agree with validate.
                XCTAssertEqual(schema.isValid(test.data), violation == nil, line: line)
            }
        }
        XCTAssertEqual(ran, expectedCases, "\(file): number of cases run", line: line)
    }

    static func loadGroups(_ path: String) throws -> [Group] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        guard case .array(let groups) = try JSONParser.parse(bytes, limits: JSONParseLimits(depthMax: 128)) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "\(path) is not a JSON array of test groups"])
        }
        return groups.map { group in
            let object = group.objectValue!
            let tests = object["tests"]!.arrayValue!.map { test in
                let t = test.objectValue!
                return (t["description"]!.stringValue!, t["data"]!, t["valid"]!.boolValue!)
            }
            return Group(description: object["description"]!.stringValue!, schema: object["schema"]!, tests: tests)
        }
    }

    static func suiteFolder() throws -> String {
        try SharedTestData.folder("json-schema/draft2020-12").path
    }
}

