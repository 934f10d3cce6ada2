import CareerEvents
import EventLog
import Foundation
import Replay
import TestSupport
import XCTest

/// CSV: columns from the schemas, RFC 4180 quoting, nested and array
/// fields, non-ASCII, one file per type, and the errors.
final class CSVTests: XCTestCase {
    private var directory = ""
    private var records: [UInt64: EventRecord] = [:]

    override func setUpWithError() throws {
        directory = try Fixture.write(name)
        let reader = try EventLog.open(directory: directory, mode: .readOnly).reader()
        while let record = try reader.next() { records[record.seq] = record }
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func csv(_ type: String, seqs: [UInt64], columns: [String]? = nil) throws -> String {
        let dataColumns = try columns ?? DataColumns.load(directory: schemaDirectory).columnsByType[type]
        var table = CSVTable(type: type, dataColumns: dataColumns)
        var out: [UInt8] = []
        table.appendHeader(to: &out)
        for seq in seqs { try table.appendRow(records[seq]!, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    func testColumnsComeFromTheSchemasFlattened() throws {
        let columns = try DataColumns.load(directory: schemaDirectory)
        XCTAssertEqual(columns.columnsByType["application.sent"], ["application_id", "company", "position", "channel"])
        XCTAssertEqual(columns.columnsByType["placement.recorded"],
                       ["application_id", "company", "role", "salary.amount", "salary.currency", "employment_type", "start_date"])
        XCTAssertEqual(columns.columnsByType["user.registered"],
                       ["email", "first_name", "last_name", "phone", "location.city", "location.country", "location.timezone", "platform"])
        // Arrays of objects stay one column (JSON text).
        XCTAssertEqual(columns.columnsByType["roadmap.created"], ["roadmap_id", "title", "career_path", "duration_weeks", "tasks"])
        XCTAssertEqual(columns.types.count, 27)
    }

    func testVersionsGetTheUnionOfTheirColumns() throws {
        func schema(_ properties: String) -> JSONValue { try! JSONParser.parse(#"{"type":"object","properties":{"# + properties + "}}") }
        let columns = try DataColumns(documents: [
            "defs.json": try JSONParser.parse(##"{"$defs":{"money":{"type":"object","properties":{"amount":{},"currency":{"$ref":"#/$defs/code"}}},"code":{"type":"string"}}}"##),
            "thing.done.v1.json": schema(#""a":{},"pay":{"$ref":"../defs.json#/$defs/money"}"#),
            "thing.done.v2.json": schema(#""a":{},"b":{"type":"object","properties":{"c":{}}},"pay":{"$ref":"../defs.json#/$defs/money"}"#),
        ])
        XCTAssertEqual(columns.columnsByType, ["thing.done": ["a", "pay.amount", "pay.currency", "b.c"]])
    }

    func testQuotingOfCommasQuotesNewlinesAndNonASCII() throws {
        let expected = [
            "seq,recorded,id,source,type,dataversion,subject,time,data.application_id,data.company,data.position,data.channel",
            #"1,2025-01-10T00:00:00.000000Z,00000000-0000-4000-8000-000000000001,careerforge-api,application.sent,1,aaaaaaaa-0000-4000-8000-000000000001,2025-01-05T10:00:00Z,11111111-1111-4111-8111-111111111111,"Acme, Inc.","Senior ""Staff"" Engineer",referral"#,
            "4,2025-02-10T00:00:00.000000Z,00000000-0000-4000-8000-000000000004,careerforge-api,application.sent,1,bbbbbbbb-0000-4000-8000-000000000002,2025-02-01T00:00:00Z,22222222-2222-4222-8222-222222222222,Łódź Tech 株式会社,\"Data\nEngineer\",",
            "7,2025-03-10T00:00:00.000000Z,00000000-0000-4000-8000-000000000007,talenthub-api,application.sent,1,cccccccc-0000-4000-8000-000000000003,2025-03-01T08:00:00Z,33333333-3333-4333-8333-333333333333,Globex,Analyst,",
        ]
        XCTAssertEqual(try csv("application.sent", seqs: [1, 4, 7]), expected.joined(separator: "\r\n") + "\r\n")
    }

    func testNestedObjectsFlattenAndArraysAreJSON() throws {
        XCTAssertEqual(try csv("placement.recorded", seqs: [5]).components(separatedBy: "\r\n")[1],
                       "5,2025-02-10T00:00:00.000000Z,00000000-0000-4000-8000-000000000005,careerforge-api,placement.recorded,1,aaaaaaaa-0000-4000-8000-000000000001,2025-02-14T09:00:00-05:00,11111111-1111-4111-8111-111111111111,\"Acme, Inc.\",Staff Engineer,185000.50,USD,full-time,2025-03-01")
        // location.timezone and phone absent: empty cells.
        XCTAssertTrue(try csv("user.registered", seqs: [9]).hasSuffix(",zoe@example.org,Zoë,O'Brien,,São Paulo,BR,,careerforge\r\n"))
        XCTAssertTrue(try csv("mentorship.started", seqs: [12]).hasSuffix(
            #",55555555-5555-4555-8555-555555555555,66666666-6666-4666-8666-666666666666,"[""system design"",""negotiation, salary""]""# + "\r\n"))
        // Numbers as written, booleans as true/false; a data field named like an envelope column stays apart.
        XCTAssertTrue(try csv("skill.assessed", seqs: [3]).contains(",data.skill,data.category,data.level,data.score,data.source,data.verified,data.assessor_id\r\n"))
        XCTAssertTrue(try csv("skill.assessed", seqs: [3]).hasSuffix(",Swift,technical,advanced,88.5,assessment,true,\r\n"))
    }

    func testRowsParseBackToTheOriginalValues() throws {
        let text = try csv("application.sent", seqs: [1, 4, 7, 11])
        let rows = parseCSV(text)
        XCTAssertEqual(rows.count, 5)
        XCTAssertEqual(rows.map(\.count), Array(repeating: 12, count: 5))
        XCTAssertEqual(rows[1][9], "Acme, Inc.")
        XCTAssertEqual(rows[1][10], #"Senior "Staff" Engineer"#)
        XCTAssertEqual(rows[2][9], "Łódź Tech 株式会社")
        XCTAssertEqual(rows[2][10], "Data\nEngineer")
        XCTAssertEqual(rows[4].prefix(2), ["11", "2025-05-10T00:00:00.000000Z"])
    }

    func testTypeWithoutSchemaGetsOneDataColumn() throws {
        var table = CSVTable(type: "skill.assessed", dataColumns: nil)
        var out: [UInt8] = []
        table.appendHeader(to: &out)
        try table.appendRow(records[6]!, to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self),
                       "seq,recorded,id,source,type,dataversion,subject,time,data\r\n"
                       + #"6,2025-02-10T00:00:00.000000Z,00000000-0000-4000-8000-000000000006,talenthub-api,skill.assessed,1,cccccccc-0000-4000-8000-000000000003,2024-12-31T23:00:00Z,"{""skill"":""SQL"",""category"":""technical"",""level"":""beginner"",""source"":""cv""}""# + "\r\n")
    }

    func testAFieldOutsideTheColumnsIsAnErrorNotDropped() throws {
        var table = CSVTable(type: "application.sent", dataColumns: ["application_id", "company"])
        var out: [UInt8] = []
        XCTAssertThrowsError(try table.appendRow(records[1]!, to: &out)) { error in
            let error = error as! ReplayError
            XCTAssertEqual(error.code, .csvColumns)
            XCTAssertTrue(error.message.hasPrefix("event seq 1 (application.sent): data field 'position' has no CSV column"), error.message)
        }
        XCTAssertEqual(out, [], "nothing of a failed row is written")
        var nested = CSVTable(type: "placement.recorded", dataColumns: ["application_id", "company", "role", "salary.amount", "employment_type", "start_date"])
        XCTAssertThrowsError(try nested.appendRow(records[5]!, to: &out)) { error in
            XCTAssertTrue((error as! ReplayError).message.contains("data field 'salary.currency'"))
        }
    }

    func testDirectoryWriterMakesOneFilePerType() throws {
        let parent = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let out = parent + "/export"
        let writer = try CSVDirectoryWriter(directory: out, columns: try DataColumns.load(directory: schemaDirectory), createFor: ["goal.set"])
        for seq in 1...12 { try writer.write(records[UInt64(seq)]!) }
        XCTAssertEqual(writer.rowsByType, ["application.advanced": 2, "application.sent": 4, "goal.set": 0, "mentorship.started": 1,
                                           "placement.recorded": 1, "skill.assessed": 3, "user.registered": 1])
        try writer.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(files, ["application.advanced.csv", "application.sent.csv", "goal.set.csv", "mentorship.started.csv",
                               "placement.recorded.csv", "skill.assessed.csv", "user.registered.csv"])
        let sent = try String(contentsOfFile: out + "/application.sent.csv", encoding: .utf8)
        XCTAssertEqual(sent, try csv("application.sent", seqs: [1, 4, 7, 11]))
        let skills = parseCSV(try String(contentsOfFile: out + "/skill.assessed.csv", encoding: .utf8))
        XCTAssertEqual(skills.dropFirst().map { $0[0] }, ["3", "6", "10"])
        XCTAssertEqual(try String(contentsOfFile: out + "/goal.set.csv", encoding: .utf8),
                       "seq,recorded,id,source,type,dataversion,subject,time,data.goal_id,data.title,data.kind,data.target_date,data.priority\r\n")
    }

    func testUnsafeTypeNamesDoNotBecomePaths() throws {
        let out = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let writer = try CSVDirectoryWriter(directory: out, columns: DataColumns(columnsByType: [:]))
        var record = records[1]!
        for type in ["../escape", ".hidden", "a/b", ""] {
            record.event.type = type
            XCTAssertThrowsError(try writer.write(record)) { XCTAssertEqual(($0 as! ReplayError).code, .invalidArgument) }
        }
    }
}

/// A small RFC 4180 reader, to check that what is written reads back.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = ""
    var quoted = false, index = text.unicodeScalars.startIndex
    let scalars = text.unicodeScalars
    while index < scalars.endIndex {
        let c = scalars[index]
        index = scalars.index(after: index)
        if quoted {
            if c == "\"" {
                if index < scalars.endIndex, scalars[index] == "\"" { field.unicodeScalars.append("\""); index = scalars.index(after: index) } else { quoted = false }
            } else {
                field.unicodeScalars.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            row.append(field); field = ""
        } else if c == "\r", index < scalars.endIndex, scalars[index] == "\n" {
            index = scalars.index(after: index)
            row.append(field); rows.append(row); row = []; field = ""
        } else {
            field.unicodeScalars.append(c)
        }
    }
    return rows
}
