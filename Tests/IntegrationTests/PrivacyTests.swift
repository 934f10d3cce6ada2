import CareerEvents
import EventLog
import Foundation
import Ingest
import TestSupport
import XCTest

/// Issue 11, as a user meets it: PII sealed at rest, replays PII-free by
/// default, erasure by destroying the subject's key. Real binary, real files.
final class PrivacyTests: XCTestCase {
    /// An imported generated history and what it holds.
    struct History {
        var directory: String
        var lines: [String]
        var events: [JSONObject]
        /// Subjects with a `user.erased` event.
        var erased: Set<String>
        /// Every PII string value of each subject's events (from the schemas' x-pii paths).
        var piiBySubject: [String: Set<String>]
        /// Types whose events held at least one PII value.
        var typesWithPIIValues: Set<String>
        /// Every string of the history outside the PII paths, one a line:
        /// a PII value that also occurs here (a last name inside a company's
        /// name, "Müller" in "Müller & Söhne GmbH") proves nothing when found.
        var clearStrings: [UInt8] = []

        /// Whether finding `value` in an output or a file means PII leaked.
        func isProbe(_ value: String) -> Bool {
            !PrivacyTests.encodings(value).contains { PrivacyTests.contains(clearStrings, $0) }
        }
    }

    static let registry: SchemaRegistry = {
        try! SchemaRegistry(directory: packageRoot + "/EventSchemas")
    }()

    /// The PII string values at the schema's x-pii paths ("a", "a.b", "a[].b", "a[]").
    static func piiValues(type: String, version: Int, data: JSONObject) -> [String] {
        var found: [String] = []
        func walk(_ value: JSONValue, _ steps: ArraySlice<Substring>) {
            guard let step = steps.first else {
                if case .string(let s) = value { found.append(s) }
                return
            }
            var name = step
            var items = 0
            while name.hasSuffix("[]") { name = name.dropLast(2); items += 1 }
            guard case .object(let object) = value, var child = object[String(name)] else { return }
            if items == 0 { return walk(child, steps.dropFirst()) }
            var level = [child]
            for _ in 0..<items { level = level.flatMap { $0.arrayValue ?? [] } }
            for item in level { walk(item, steps.dropFirst()) }
            child = .null
        }
        for path in registry.piiFields(type: type, version: version) {
            walk(.object(data), path.split(separator: ".")[...])
        }
        return found
    }

    /// The strings of `value` not at any of `piiPaths` ("a", "a.b", "a[].b", "a[]").
    static func clearStrings(_ value: JSONValue, path: String = "", piiPaths: Set<String>, into out: inout [UInt8]) {
        guard !piiPaths.contains(path) else { return }
        switch value {
        case .string(let text): out += Array(text.utf8) + [0x0A]
        case .object(let object):
            for (name, child) in object.members { clearStrings(child, path: path.isEmpty ? name : path + "." + name, piiPaths: piiPaths, into: &out) }
        case .array(let items):
            for item in items { clearStrings(item, path: path + "[]", piiPaths: piiPaths, into: &out) }
        default: break
        }
    }

    /// One imported history shared by the tests that only read it (an
    /// import of 400 users takes most of a minute in a debug build).
    nonisolated(unsafe) static var sharedHistory: History?

    func sharedHistory() throws -> History {
        if let history = Self.sharedHistory { return history }
        let history = try importHistory(users: 400, seed: 11)
        Self.sharedHistory = history
        return history
    }

    /// `sealed: false` writes the log as careerlog did before sealing
    /// existed (the importer without a sealer): PII in clear in the segments.
    func importHistory(
        users: Int, seed: Int, sealed: Bool = true, directory: String? = nil, limits: LogLimits = LogLimits()
    ) throws -> History {
        let directory = directory ?? makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", String(users), "--seed", String(seed)])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        if sealed {
            let imported = try runCareerlog(["log", "import", "--data-dir", directory, "-"], input: Data(generated.stdout.utf8))
            XCTAssertEqual(imported.status, 0, imported.stderr)
        } else {
            let input = directory + ".ndjson"
            try Data(generated.stdout.utf8).write(to: URL(fileURLWithPath: input))
            let fd = open(input, O_RDONLY)
            defer { close(fd) }
            let summary = try Importer.importLines(fd: fd, logDirectory: directory + "/log", logLimits: limits, dedupeWindowEvents: 100_000,
                                                   validate: nil, sealer: nil, opened: { _ in }, reject: { line, error in XCTFail("line \(line): \(error)") })
            XCTAssertEqual(summary.rejected, 0)
            unlink(input)
        }
        let lines = generated.stdout.split(separator: "\n").map(String.init)
        var history = History(directory: directory, lines: lines, events: [], erased: [], piiBySubject: [:], typesWithPIIValues: [])
        for line in lines {
            let event = try XCTUnwrap(JSONParser.parse(line).objectValue)
            history.events.append(event)
            let type = event["type"]!.stringValue!, subject = event["subject"]!.stringValue!
            if type == "user.erased" { history.erased.insert(subject) }
            let values = Self.piiValues(type: type, version: 1, data: event["data"]!.objectValue!)
            if !values.isEmpty { history.typesWithPIIValues.insert(type) }
            history.piiBySubject[subject, default: []].formUnion(values)
            var envelope = event
            envelope["data"] = nil
            Self.clearStrings(.object(envelope), piiPaths: [], into: &history.clearStrings)
            let piiPaths = Set(Self.registry.piiFields(type: type, version: 1))
            Self.clearStrings(event["data"]!, piiPaths: piiPaths, into: &history.clearStrings)
        }
        XCTAssertFalse(history.erased.isEmpty, "the generated history should erase someone")
        return history
    }

    /// The ways a PII value could be written: as is and JSON-escaped.
    static func encodings(_ value: String) -> [[UInt8]] {
        let escaped = JSONValue.string(value).compactString.dropFirst().dropLast()
        return Array(Set([Array(value.utf8), Array(escaped.utf8)]))
    }

    /// Whether `needle` occurs in `haystack`: glibc's memmem (two-way
    /// search, gigabytes per second), since these tests search megabytes
    /// of files for thousands of values.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in memmemFunction(h.baseAddress, h.count, n.baseAddress, n.count) != nil }
        }
    }

    /// glibc's memmem, which Swift's Glibc module does not export (it is a
    /// GNU extension); found once by name in the process.
    private typealias Memmem = @convention(c) (UnsafeRawPointer?, Int, UnsafeRawPointer?, Int) -> UnsafeMutableRawPointer?
    private static let memmemFunction: Memmem = unsafeBitCast(dlsym(dlopen(nil, RTLD_NOW), "memmem")!, to: Memmem.self)

    /// Every regular file under `directory` (recursively), with its bytes.
    static func files(under directory: String) -> [(path: String, bytes: [UInt8])] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var out: [(String, [UInt8])] = []
        while let relative = enumerator?.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            out.append((path, [UInt8](data)))
        }
        return out
    }

    /// The data bytes of every stored record, decompressed (what LZ4 would hide from a file search).
    static func storedData(_ directory: String) throws -> [(seq: UInt64, subject: String, type: String, data: [UInt8])] {
        let log = try EventLog.open(directory: directory + "/log", mode: .readOnly)
        defer { try? log.close() }
        let reader = log.reader(fromSeq: 1)
        var out: [(UInt64, String, String, [UInt8])] = []
        while let record = try reader.next() {
            out.append((record.seq, record.event.subject.uuidString.lowercased(), record.event.type, record.event.data))
        }
        return out
    }

    func testEveryPIIFieldOfEveryTypeIsSealedInTheLog() throws {
        let history = try sharedHistory()
        // Every type with an x-pii field got PII values, so every path was exercised.
        let typesWithPIIFields = Set(Self.registry.types.filter { !Self.registry.piiFields(type: $0, version: 1).isEmpty })
        XCTAssertEqual(history.typesWithPIIValues, typesWithPIIFields)
        let stored = try Self.storedData(history.directory)
        XCTAssertEqual(stored.count, history.events.count)
        var leaks = 0
        for (record, event) in zip(stored, history.events) {
            let values = Self.piiValues(type: record.type, version: 1, data: event["data"]!.objectValue!)
            for value in values where history.isProbe(value) && Self.encodings(value).contains(where: { Self.contains(record.data, $0) }) {
                leaks += 1
                if leaks < 5 { XCTFail("seq \(record.seq) (\(record.type)) holds a PII value in clear") }
            }
        }
        XCTAssertEqual(leaks, 0)
    }

    func testReplayIsPIIFreeByDefaultAndIncludePIIShowsExactlyTheNotErased() throws {
        let history = try sharedHistory()
        let allPII = history.piiBySubject.values.reduce(into: Set<String>()) { $0.formUnion($1) }.filter(history.isProbe)
        XCTAssertGreaterThan(allPII.count, 1000)

        let replay = try runCareerlog(["replay", "--data-dir", history.directory])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        let csvDirectory = makeTemporaryDirectory()
        let csv = try runCareerlog(["replay", "--data-dir", history.directory, "--format", "csv", "--out", csvDirectory])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        var outputs = [("ndjson", [UInt8](replay.stdout.utf8))]
        outputs += Self.files(under: csvDirectory).map { ($0.path, $0.bytes) }
        for (name, bytes) in outputs {
            let leaked = allPII.filter { value in Self.encodings(value).contains { Self.contains(bytes, $0) } }
            XCTAssertEqual(leaked.count, 0, "\(name) shows \(leaked.count) PII values without --include-pii")
        }
        let lines = replay.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, history.events.count)
        for (line, event) in zip(lines, history.events) where event["type"]?.stringValue == "user.registered" {
            let object = try XCTUnwrap(JSONParser.parse(String(line)).objectValue)
            XCTAssertEqual(object["redacted"], .bool(true))
            XCTAssertEqual(object["data"]?.objectValue?["email"], .null)
            XCTAssertEqual(object["data"]?.objectValue?["platform"], event["data"]?.objectValue?["platform"])
        }

        let included = try runCareerlog(["replay", "--data-dir", history.directory, "--include-pii", "--type", "user.registered"])
        XCTAssertEqual(included.status, 0, included.stderr)
        var shown = 0, withheld = 0
        let registered = history.events.filter { $0["type"]?.stringValue == "user.registered" }
        let includedLines = included.stdout.split(separator: "\n")
        XCTAssertEqual(includedLines.count, registered.count)
        for (line, event) in zip(includedLines, registered) {
            let object = try XCTUnwrap(JSONParser.parse(String(line)).objectValue)
            let subject = event["subject"]!.stringValue!
            if history.erased.contains(subject) {
                XCTAssertEqual(object["data"]?.objectValue?["email"], .null)
                XCTAssertEqual(object["redacted"], .bool(true))
                withheld += 1
            } else {
                XCTAssertEqual(object["data"], event["data"])
                XCTAssertNil(object["redacted"])
                shown += 1
            }
        }
        XCTAssertEqual(withheld, history.erased.count)
        XCTAssertEqual(shown, registered.count - history.erased.count)
    }

    func testAfterErasureNoFileUnderTheDataDirectoryHoldsTheSubjectsPII() throws {
        let history = try sharedHistory()
        let files = Self.files(under: history.directory)
        let stored = try Self.storedData(history.directory)
        let allData = stored.flatMap(\.data)
        XCTAssertTrue(files.contains { $0.path.hasSuffix(".seg") })
        for subject in history.erased {
            let pii = try XCTUnwrap(history.piiBySubject[subject])
            XCTAssertFalse(pii.isEmpty)
            for value in pii where history.isProbe(value) {
                for encoding in Self.encodings(value) {
                    for file in files where Self.contains(file.bytes, encoding) {
                        XCTFail("\(file.path) holds erased PII of \(subject)")
                    }
                    // One search over all records; the record is looked for only on a hit.
                    guard Self.contains(allData, encoding) else { continue }
                    for record in stored where Self.contains(record.data, encoding) {
                        XCTFail("record seq \(record.seq) holds erased PII of \(subject)")
                    }
                }
            }
        }
    }
}

extension PrivacyTests {
    /// The seqs and events of one subject in an imported history (imported
    /// in file order, so line i is seq i + 1).
    func eventsOf(_ subject: String, in history: History) -> [(seq: Int, event: JSONObject)] {
        history.events.enumerated().filter { $0.element["subject"]?.stringValue == subject }.map { ($0.offset + 1, $0.element) }
    }

    func hasPII(_ event: JSONObject) -> Bool {
        !Self.piiValues(type: event["type"]!.stringValue!, version: 1, data: event["data"]!.objectValue!).isEmpty
    }

    func testPrivacyStatusSaysWhereTheKeyStandsAndCountsSealedEvents() throws {
        let history = try sharedHistory()
        let erased = try XCTUnwrap(history.erased.sorted().first)
        let kept = try XCTUnwrap(history.piiBySubject.keys.sorted().first { !history.erased.contains($0) && !(history.piiBySubject[$0]?.isEmpty ?? true) })

        let keptEvents = eventsOf(kept, in: history)
        let active = try runCareerlog(["privacy", "status", kept, "--data-dir", history.directory, "--json"])
        XCTAssertEqual(active.status, 0, active.stderr)
        var object = try XCTUnwrap(JSONParser.parse(active.stdout).objectValue)
        XCTAssertEqual(object["key"], "active")
        XCTAssertNotNil(Timestamp(rfc3339: try XCTUnwrap(object["key_created"]?.stringValue)))
        XCTAssertEqual(object["erasure_seq"], .null)
        XCTAssertEqual(object["events"], .number(JSONNumber(keptEvents.count)))
        XCTAssertEqual(object["sealed_events"], .number(JSONNumber(keptEvents.filter { hasPII($0.event) }.count)))
        XCTAssertEqual(object["events_with_pii_in_clear"], 0)

        let erasedEvents = eventsOf(erased, in: history)
        let erasureSeq = try XCTUnwrap(erasedEvents.first { $0.event["type"] == "user.erased" }?.seq)
        let destroyed = try runCareerlog(["privacy", "status", erased, "--data-dir", history.directory, "--json"])
        XCTAssertEqual(destroyed.status, 0, destroyed.stderr)
        object = try XCTUnwrap(JSONParser.parse(destroyed.stdout).objectValue)
        XCTAssertEqual(object["key"], "destroyed")
        XCTAssertEqual(object["erasure_seq"], .number(JSONNumber(erasureSeq)))
        XCTAssertNotNil(Timestamp(rfc3339: try XCTUnwrap(object["erased_at"]?.stringValue)))
        XCTAssertEqual(object["erasure_seqs"], .array([.number(JSONNumber(erasureSeq))]))
        XCTAssertEqual(object["events"], .number(JSONNumber(erasedEvents.count)))
        // Sealed: those with PII before the erasure; after it, PII is stored as null.
        XCTAssertEqual(object["sealed_events"], .number(JSONNumber(erasedEvents.filter { $0.seq < erasureSeq && hasPII($0.event) }.count)))

        let text = try runCareerlog(["privacy", "status", erased, "--data-dir", history.directory])
        XCTAssertTrue(text.stdout.contains("key: destroyed by the erasure at seq \(erasureSeq), "), text.stdout)

        let unknown = UUID().uuidString.lowercased()
        let none = try runCareerlog(["privacy", "status", unknown, "--data-dir", history.directory, "--json"])
        XCTAssertEqual(try JSONParser.parse(none.stdout).objectValue?["key"], "none")
        XCTAssertEqual(try JSONParser.parse(none.stdout).objectValue?["events"], 0)

        let bad = try runCareerlog(["privacy", "status", "not-a-uuid", "--data-dir", history.directory])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("'not-a-uuid' is not a UUID"), bad.stderr)
        let keyless = try runCareerlog(["privacy", "status", kept, "--data-dir", history.directory, "--master-key-file", history.directory + "/none.key"])
        XCTAssertEqual(keyless.status, 1)
        XCTAssertTrue(keyless.stderr.contains("cannot open the key store"), keyless.stderr)
    }

    func testPrivacyExportWritesEverythingAboutOneSubjectWithPIIDecrypted() throws {
        let history = try sharedHistory()
        let kept = try XCTUnwrap(history.piiBySubject.keys.sorted().first { !history.erased.contains($0) && !(history.piiBySubject[$0]?.isEmpty ?? true) })
        let keptEvents = eventsOf(kept, in: history)
        let export = try runCareerlog(["privacy", "export", kept, "--data-dir", history.directory])
        XCTAssertEqual(export.status, 0, export.stderr)
        let lines = export.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, keptEvents.count)
        for (line, (seq, event)) in zip(lines, keptEvents) {
            let object = try XCTUnwrap(JSONParser.parse(String(line)).objectValue)
            XCTAssertEqual(object["seq"], .number(JSONNumber(seq)))
            XCTAssertEqual(object["id"], event["id"])
            XCTAssertEqual(object["data"]?.compactString, event["data"]?.compactString, "seq \(seq)")
            XCTAssertNil(object["redacted"])
        }

        let erased = try XCTUnwrap(history.erased.sorted().first)
        let erasedEvents = eventsOf(erased, in: history)
        let erasedExport = try runCareerlog(["privacy", "export", erased, "--data-dir", history.directory])
        XCTAssertEqual(erasedExport.status, 0, erasedExport.stderr)
        let erasedLines = erasedExport.stdout.split(separator: "\n")
        XCTAssertEqual(erasedLines.count, erasedEvents.count)
        let pii = try XCTUnwrap(history.piiBySubject[erased]).filter(history.isProbe)
        XCTAssertFalse(pii.isEmpty)
        for value in pii { XCTAssertFalse(erasedExport.stdout.contains(value), "an erased subject's export shows its PII") }
        for (line, (_, event)) in zip(erasedLines, erasedEvents) where hasPII(event) {
            XCTAssertEqual(try JSONParser.parse(String(line)).objectValue?["redacted"], .bool(true))
        }
    }
}
