import CareerEvents
import XCTest

import EventGenerator

/// Every generated event must be accepted by the real ingest checks: the
/// envelope decoder and the JSON Schemas in `EventSchemas/`.
final class SchemaConformanceTests: XCTestCase {
    /// The package root: this file is `<root>/Tests/EventGeneratorTests/SchemaConformanceTests.swift`.
    static var packageRoot: String {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/")
    }

    func testEveryEventOfAThreeHundredUserRunDecodesAndValidates() throws {
        let registry = try SchemaRegistry(directory: Self.packageRoot + "/EventSchemas")
        var generator = HistoryGenerator(options: GeneratorOptions(users: 300, seed: 300))
        var line: [UInt8] = []
        var checked = 0
        var failures: [String: (count: Int, example: String)] = [:]
        var typesChecked: Set<String> = []
        while generator.nextLine(into: &line) {
            checked += 1
            do {
                let envelope = try Envelope.decode(line: line)
                try registry.validate(envelope)
                typesChecked.insert(envelope.type)
            } catch {
                let key = "\(error)"
                failures[key, default: (0, String(decoding: line, as: UTF8.self))].count += 1
            }
            line.removeAll(keepingCapacity: true)
        }
        XCTAssertGreaterThan(checked, 50_000)
        XCTAssertEqual(typesChecked.count, HistoryGeneratorTests.catalogTypes.count)
        let report = failures.sorted { $0.value.count > $1.value.count }.prefix(20)
            .map { "\($0.value.count)x \($0.key)\n    e.g. \($0.value.example)" }
        XCTAssertTrue(failures.isEmpty, "rejected events:\n" + report.joined(separator: "\n"))
    }
}
