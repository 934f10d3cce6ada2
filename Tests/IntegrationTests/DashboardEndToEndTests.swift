import Foundation
import TestSupport
import XCTest

/// The whole window: a generated history ingested by `careerlog serve`,
/// projected into a real PostgreSQL, shown by the dashboard in a real
/// headless Chromium with the same placement rates `careerlog analytics
/// placement` prints, and a placement emitted during the test appearing
/// without a reload.
final class DashboardEndToEndTests: XCTestCase {
    /// cohort -> rate (nil when no enrollee), from the command line.
    private func placementRates(_ dir: String) throws -> [String: Double?] {
        let result = try runCareerlog(["analytics", "placement", "--format", "json", "--data-dir", dir])
        XCTAssertEqual(result.status, 0, result.stderr)
        var rates: [String: Double?] = [:]
        // One document: {"as_of": ..., "rows": [...]}.
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        for object in try XCTUnwrap(document["rows"] as? [[String: Any]]) {
            rates[try XCTUnwrap(object["cohort"] as? String)] = (object["placement_rate"] as? NSNumber)?.doubleValue
        }
        return rates
    }

    private func pageRates(_ browser: ChromiumDriver) throws -> [String: Double?] {
        let value = try browser.evaluate("""
            (() => { const c = window.careerlogDashboard.charts.placement;
              return c.data.labels.map((l, i) => [Array.isArray(l) ? l[0] : l, c.data.datasets[0].data[i], c.getDatasetMeta(0).data.length]); })()
            """)
        var rates: [String: Double?] = [:]
        for item in try XCTUnwrap(value as? [[Any]]) {
            XCTAssertEqual(item[2] as? Int, (value as? [[Any]])?.count, "one bar per cohort")
            rates[item[0] as! String] = (item[1] as? NSNumber).map { $0.doubleValue / 100 }
        }
        return rates
    }

    private func assertSameRates(_ page: [String: Double?], _ cli: [String: Double?], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(page.keys), Set(cli.keys), file: file, line: line)
        for (cohort, rate) in cli {
            switch (rate, page[cohort] ?? nil) {
            case (nil, nil): break
            case (let a?, let b?): XCTAssertEqual(a, b, accuracy: 1e-9, cohort, file: file, line: line)
            default: XCTFail("\(cohort): page \(String(describing: page[cohort])), cli \(String(describing: rate))", file: file, line: line)
            }
        }
    }

    func testThePageShowsTheCommandLinesRatesAndANewPlacementWithoutReload() throws {
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "200", "--seed", "21"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        defer { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }

        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try careerlogBinary())
        serve.arguments = ["serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--no-socket", "--http", "127.0.0.1:0", "--log-level", "error"]
        var environment = ProcessInfo.processInfo.environment
        environment["CAREERLOG_PROJECTIONS_DIR"] = packageRoot + "/Projections"
        environment["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
        serve.environment = environment
        let stdout = Pipe()
        serve.standardOutput = stdout
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.terminate(); serve.waitUntilExit() }
        var readyLine = Data()
        while !readyLine.contains(10) {
            let chunk = stdout.fileHandleForReading.availableData
            guard !chunk.isEmpty else { return XCTFail("serve exited before it was ready") }
            readyLine.append(chunk)
        }
        let ready = try XCTUnwrap(JSONSerialization.jsonObject(with: readyLine) as? [String: Any])
        let http = try XCTUnwrap(ready["http"] as? String)
        let tcp = try XCTUnwrap(ready["tcp"] as? String)

        // Ready once every projection has caught up with the imported history.
        guard waitUntil("the node is ready", timeout: .seconds(180), {
            (try? Data(contentsOf: URL(string: "http://\(http)/api/status")!)).map { String(decoding: $0, as: UTF8.self).contains(#""ready":true"#) } ?? false
        }) else { return }
        let before = try placementRates(dir)
        XCTAssertGreaterThan(before.count, 3)

        let browser = try ChromiumDriver(artefacts: URL(fileURLWithPath: packageRoot + "/.build/window-artefacts"))
        try browser.navigate("http://\(http)/")
        try browser.wait("window.careerlogDashboard && window.careerlogDashboard.charts.placement && window.careerlogDashboard.charts.placement.data.labels.length === \(before.count)", timeoutMs: 30_000)
        assertSameRates(try pageRates(browser), before)
        try browser.screenshot("end-to-end.png")
        _ = try browser.evaluate("window.notReloaded = true")

        // A new enrollee of an existing cohort, placed: its cohort's rate changes.
        let cohort = before.keys.sorted()[before.count / 2]
        let subject = UUID().uuidString.lowercased()
        let events = """
            {"id":"\(UUID().uuidString.lowercased())","source":"window-test","type":"program.enrolled","subject":"\(subject)","time":"\(cohort)-15T10:00:00Z","data":{"program":"Window Test","cohort":"\(cohort)","target_industry":"Technology","target_role":"Analyst","baseline_salary":{"amount":30000,"currency":"EUR"}}}
            {"id":"\(UUID().uuidString.lowercased())","source":"window-test","type":"placement.recorded","subject":"\(subject)","time":"\(cohort)-28T10:00:00Z","data":{"company":"Test Works","role":"Analyst","salary":{"amount":36000,"currency":"EUR"},"employment_type":"full-time","start_date":"\(cohort)-28"}}

            """
        let emitted = try runCareerlog(["emit", "--connect", tcp], input: Data(events.utf8))
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        var after = before
        guard try waitUntil("the new placement reaches the analytics", timeout: .seconds(180), {
            after = try placementRates(dir)
            return after != before
        }) else { return }
        let expected = try XCTUnwrap(after[cohort] ?? nil)
        try browser.wait("Math.abs(window.careerlogDashboard.charts.placement.data.datasets[0].data[\(before.keys.sorted().firstIndex(of: cohort)!)] - \(expected * 100)) < 1e-9", timeoutMs: 30_000)
        assertSameRates(try pageRates(browser), after)
        XCTAssertEqual(try browser.evaluate("window.notReloaded === true") as? Bool, true, "the page reloaded")
        XCTAssertEqual(try browser.errors(), [])

        // The same figures as one offline file.
        let reportPath = dir + "/report.html"
        let report = try runCareerlog(["report", "--html", reportPath, "--data-dir", dir])
        XCTAssertEqual(report.status, 0, report.stderr)
        try browser.navigate(URL(fileURLWithPath: reportPath).absoluteString)
        try browser.wait("window.careerlogDashboard && window.careerlogDashboard.updates >= 1", timeoutMs: 30_000)
        assertSameRates(try pageRates(browser), after)
    }
}
