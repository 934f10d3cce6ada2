import CareerEvents
import Foundation
import TestSupport
import XCTest

/// The log commands as a user runs them: real binary, real files.
final class LogCommandTests: XCTestCase {
    private func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }

    private func parse(_ line: String) throws -> JSONObject {
        try XCTUnwrap(JSONParser.parse(line).objectValue)
    }

    func testGenerateImportDumpRoundTripsEveryType() throws {
        continueAfterFailure = false
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "100", "--seed", "1"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let input = lines(generated.stdout)
        XCTAssertGreaterThan(input.count, 1000)

        let imported = try runCareerlog(["log", "import", "--data-dir", dir, "-"], input: Data(generated.stdout.utf8))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertEqual(imported.stdout, #"{"appended":\#(input.count),"duplicates":0,"rejected":0,"redacted":0,"first_seq":1,"last_seq":\#(input.count)}"# + "\n")

        // An operator's tool: PII in clear where the key exists (the
        // default master key file), byte for byte as sent, no flag needed.
        let dumped = try runCareerlog(["log", "dump", "--data-dir", dir])
        XCTAssertEqual(dumped.status, 0, dumped.stderr)
        let output = lines(dumped.stdout)
        XCTAssertEqual(output.count, input.count)
        // Erased subjects' PII is gone for good (their keys were destroyed).
        let erased = Set(try input.map(parse).filter { $0["type"] == "user.erased" }.map { $0["subject"]!.stringValue! })
        XCTAssertFalse(erased.isEmpty)
        var types = Set<String>()
        var erasedChecked = 0
        for (i, (original, stored)) in zip(input, output).enumerated() {
            var storedObject = try parse(stored)
            if let subject = storedObject["subject"]?.stringValue, erased.contains(subject) {
                let data = try XCTUnwrap(storedObject["data"]?.objectValue)
                XCTAssertEqual(PrivacyTests.piiValues(type: storedObject["type"]!.stringValue!, version: 1, data: data), [], "line \(i + 1)")
                erasedChecked += 1
                types.insert(storedObject["type"]!.stringValue!)
                continue
            }
            XCTAssertEqual(storedObject["seq"], .number(JSONNumber(i + 1)))
            let recorded = try XCTUnwrap(storedObject["recorded"]?.stringValue)
            XCTAssertNotNil(Timestamp(rfc3339: recorded))
            storedObject["seq"] = nil
            storedObject["recorded"] = nil
            var originalObject = try parse(original)
            // Accepted and not kept (EventSchemas/README.md): they carry no information.
            originalObject["specversion"] = nil
            originalObject["datacontenttype"] = nil
            if originalObject["dataversion"] == nil { originalObject["dataversion"] = 1 }
            XCTAssertEqual(storedObject, originalObject, "line \(i + 1)")
            // Field by field, text equal: time as written, data as sent.
            XCTAssertEqual(storedObject["time"], originalObject["time"])
            XCTAssertEqual(storedObject["data"]?.compactString, originalObject["data"]?.compactString)
            types.insert(originalObject["type"]!.stringValue!)
        }
        XCTAssertEqual(types.count, 27, "every catalog type should appear: \(types.sorted())")
        XCTAssertGreaterThan(erasedChecked, 0)

        // --redact-pii: as an analyst's replay shows it, without any key.
        let redacted = try runCareerlog(["log", "dump", "--data-dir", dir, "--redact-pii", "--master-key-file", dir + "/missing.key"])
        XCTAssertEqual(redacted.status, 0, redacted.stderr)
        let redactedLines = lines(redacted.stdout)
        XCTAssertEqual(redactedLines.count, input.count)
        var registered = 0
        for (original, line) in zip(input, redactedLines) where try parse(original)["type"] == "user.registered" {
            let object = try parse(line)
            XCTAssertEqual(object["redacted"], .bool(true))
            XCTAssertEqual(object["data"]?.objectValue?["email"], .null)
            XCTAssertEqual(object["data"]?.objectValue?["platform"], try parse(original)["data"]?.objectValue?["platform"])
            registered += 1
        }
        XCTAssertGreaterThan(registered, 50)

        // Without the master key, PII cannot be shown: a clear refusal, no output.
        let keyless = try runCareerlog(["log", "dump", "--data-dir", dir, "--master-key-file", dir + "/missing.key"])
        XCTAssertEqual(keyless.status, 1)
        XCTAssertEqual(keyless.stdout, "")
        XCTAssertTrue(keyless.stderr.contains("--redact-pii"), keyless.stderr)

        let partial = try runCareerlog(["log", "dump", "--data-dir", dir, "--from-seq", "10", "--limit", "5"])
        XCTAssertEqual(lines(partial.stdout).count, 5)
        XCTAssertEqual(try parse(lines(partial.stdout)[0])["seq"], 10)

        let verify = try runCareerlog(["log", "verify", "--data-dir", dir])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.hasPrefix("ok: \(input.count) events"), verify.stdout)

        let stats = try runCareerlog(["log", "stats", "--data-dir", dir, "--json"])
        let statsObject = try parse(stats.stdout)
        XCTAssertEqual(statsObject["events"], .number(JSONNumber(input.count)))
        XCTAssertEqual(statsObject["last_seq"], .number(JSONNumber(input.count)))
        XCTAssertEqual(statsObject["segments"], 1)

        // Importing the same file again: all duplicates, nothing appended.
        let again = try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8))
        XCTAssertEqual(again.stdout, #"{"appended":0,"duplicates":\#(input.count),"rejected":0,"redacted":0,"first_seq":null,"last_seq":null}"# + "\n")
    }

    func testRejectedLinesAreReportedWithLineNumbersAndOthersKept() throws {
        let dir = makeTemporaryDirectory()
        let good = #"{"id":"4b0d2c3e-8f1a-4c5b-9d6e-7f8091a2b3c4","source":"careerforge-api","type":"skill.assessed","subject":"0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","time":"2024-03-01T10:00:00+02:00","data":{"skill":"Swift","category":"technical","level":"advanced","score":87,"source":"assessment"}}"#
        let badLevel = good.replacingOccurrences(of: "4b0d2c3e", with: "5b0d2c3e").replacingOccurrences(of: "advanced", with: "wizard")
        let unknownType = good.replacingOccurrences(of: "4b0d2c3e", with: "6b0d2c3e").replacingOccurrences(of: "skill.assessed", with: "skill.levitated")
        let input = [good, "{not json", "", badLevel, good, unknownType + "\r", String(repeating: "x", count: (1 << 20) + 1)].joined(separator: "\n") + "\n"
        let result = try runCareerlog(["log", "import", "--data-dir", dir, "-"], input: Data(input.utf8))
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, #"{"appended":1,"duplicates":1,"rejected":4,"redacted":0,"first_seq":1,"last_seq":1}"# + "\n")
        let errors = lines(result.stderr)
        XCTAssertEqual(errors.count, 4, result.stderr)
        XCTAssertTrue(errors[0].hasPrefix("line 2: parse:"), errors[0])
        XCTAssertTrue(errors[1].hasPrefix("line 4: schema: data.level:"), errors[1])
        XCTAssertTrue(errors[2].hasPrefix("line 6: unknown_type:"), errors[2])
        XCTAssertTrue(errors[3].hasPrefix("line 7: too_large:"), errors[3])
    }

    func testVerifyReportsTheFileAndOffsetOfDamage() throws {
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "20", "--seed", "3"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        let segment = dir + "/log/00000000000000000001.seg"
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        bytes[32 + 64 + 10] ^= 0x04  // inside the first frame's payload
        bytes += [UInt8](repeating: 7, count: 3)
        _ = FileManager.default.createFile(atPath: segment, contents: Data(bytes))
        let verify = try runCareerlog(["log", "verify", "--data-dir", dir])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.stderr.contains("file: \(segment)"), verify.stderr)
        XCTAssertTrue(verify.stderr.contains("offset: 32"), verify.stderr)
    }

    /// Issue 10: a damaged durable frame stops verify (and serve) with the
    /// file and offset; `log repair` accepts the loss knowingly, and the next
    /// event gets a seq after every seq ever handed out.
    func testRepairAcceptsALossKnowinglyAndNeverReusesASeq() throws {
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "20", "--seed", "3"])
        let input = lines(generated.stdout)
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        let segment = dir + "/log/00000000000000000001.seg"
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        bytes[bytes.count - 100] ^= 0x04
        _ = FileManager.default.createFile(atPath: segment, contents: Data(bytes))

        let verify = try runCareerlog(["log", "verify", "--data-dir", dir])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.stderr.contains("DURABLE says the segment was durable"), verify.stderr)
        XCTAssertTrue(verify.stderr.contains("file: \(segment)"), verify.stderr)

        // A seq inside the damaged frame: refused, with the seq to use.
        let refused = try runCareerlog(["log", "repair", "--data-dir", dir, "--truncate-after", "\(input.count - 1)"])
        XCTAssertEqual(refused.status, 1)
        let suggestion = try XCTUnwrap(refused.stderr.range(of: #"use --truncate-after \d+"#, options: .regularExpression), refused.stderr)
        let keep = try XCTUnwrap(Int(refused.stderr[suggestion].split(separator: " ").last!))
        XCTAssertLessThan(keep, input.count)

        let repaired = try runCareerlog(["log", "repair", "--data-dir", dir, "--truncate-after", "\(keep)"])
        XCTAssertEqual(repaired.status, 0, repaired.stderr)
        XCTAssertTrue(repaired.stdout.contains("next seq \(input.count + 1)"), repaired.stdout)
        let journal = String(decoding: FileManager.default.contents(atPath: dir + "/log/REPAIRS") ?? Data(), as: UTF8.self)
        XCTAssertTrue(journal.contains("truncate-after=\(keep) next-seq=\(input.count + 1) "), journal)

        let after = try runCareerlog(["log", "verify", "--data-dir", dir])
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertTrue(after.stdout.contains("gap: seqs \(keep + 1)...\(input.count)"), after.stdout)
        // The last event was cut with its frame: appended again, it gets a new seq.
        let again = try runCareerlog(["log", "import", "--data-dir", dir], input: Data((input.last! + "\n").utf8))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains(#""first_seq":\#(input.count + 1)"#), again.stdout)
    }

    func testVerifyReportsADeletedNewestSegment() throws {
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "5", "--seed", "4"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        try FileManager.default.removeItem(atPath: dir + "/log/00000000000000000001.seg")
        let verify = try runCareerlog(["log", "verify", "--data-dir", dir])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.stderr.contains("segment 1 is missing"), verify.stderr)
    }
}
