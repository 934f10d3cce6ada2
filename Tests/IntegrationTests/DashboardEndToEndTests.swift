import CareerEvents
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
    private func placementRates(_ dir: String, program: String? = nil) throws -> [String: Double?] {
        let result = try runCareerlog(["analytics", "placement", "--format", "json", "--data-dir", dir] + (program.map { ["--by", "cohort", "--program", $0] } ?? []))
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

    /// The history's PII (every `x-pii` field's text: names, e-mail
    /// addresses, phones, profile URLs, feedback comments) appears nowhere
    /// on the rendered page, nor in any document it loads, nor in /metrics.
    private func assertNoPII(of history: String, in browser: ChromiumDriver, http: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let registry = try SchemaRegistry(directory: packageRoot + "/EventSchemas")
        var pii: Set<String> = []
        func collect(_ value: JSONValue?, _ steps: ArraySlice<Substring>) {
            guard let value else { return }
            guard let step = steps.first else {
                // Short values ("Li", "Ana") could match figures by chance; they are names all the same, but not telling.
                if case .string(let text) = value, text.count >= 6 { pii.insert(text) }
                return
            }
            let name = step.hasSuffix("[]") ? step.dropLast(2) : step
            guard case .object(let object) = value else { return }
            if step.hasSuffix("[]"), case .array(let items)? = object[String(name)] {
                for item in items { collect(item, steps.dropFirst()) }
            } else {
                collect(object[String(name)], steps.dropFirst())
            }
        }
        for line in history.split(separator: "\n") {
            guard case .object(let event) = try JSONParser.parse(String(line)), case .string(let type)? = event["type"] else { continue }
            var version = 1
            if case .number(let number)? = event["dataversion"], let v = number.int64 { version = Int(v) }
            for path in registry.piiFields(type: type, version: version) {
                collect(event["data"], path.split(separator: ".")[...])
            }
        }
        XCTAssertGreaterThan(pii.count, 100, "the history has PII to look for", file: file, line: line)
        var shown = try XCTUnwrap(browser.evaluate("document.documentElement.outerHTML") as? String, file: file, line: line)
        for path in ["/metrics", "/api/status"] + DashboardDocuments.paths {
            shown += String(decoding: try Data(contentsOf: URL(string: "http://\(http)\(path)")!), as: UTF8.self)
        }
        let leaked = pii.filter { shown.contains($0) }
        XCTAssertEqual(leaked.sorted().prefix(5), [], "PII on the dashboard or in its data", file: file, line: line)
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
        try assertNoPII(of: generated.stdout, in: browser, http: http)
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

        // One program's cohorts: the page shows what `--by cohort --program` prints.
        try browser.navigate("http://\(http)/")
        // The navigation returns before the new page exists: wait for its select, filled from the figures.
        try browser.wait("(() => { const s = document.getElementById('filter-program'); return !!s && s.options.length > 2; })()", timeoutMs: 30_000)
        let program = try XCTUnwrap(browser.evaluate("document.getElementById('filter-program').options[1].value") as? String)
        let programRates = try placementRates(dir, program: program)
        XCTAssertNotEqual(programRates, after, "the program's rates differ from all programs'")
        _ = try browser.evaluate("""
            (() => { const s = document.getElementById('filter-program'); s.value = \(String(reflecting: program)); s.dispatchEvent(new Event('change')); })()
            """)
        try browser.wait("!document.getElementById('program-note').hidden && window.careerlogDashboard.charts.placement.data.labels.length === \(programRates.count)", timeoutMs: 30_000)
        try waitUntil("the page shows \(program)'s rates") {
            guard let page = try? pageRates(browser), Set(page.keys) == Set(programRates.keys) else { return false }
            return programRates.allSatisfy { cohort, rate in
                switch (rate, page[cohort] ?? nil) {
                case (nil, nil): true
                case (let a?, let b?): abs(a - b) < 1e-9
                default: false
                }
            }
        }
        assertSameRates(try pageRates(browser), programRates)
        try browser.screenshot("end-to-end-program.png")
        // One code path: every per-cohort figure of the program, byte for byte as the command line prints it.
        let parameter = try XCTUnwrap(program.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        for (arguments, path) in [(["placement", "--by", "cohort"], "placement?by=cohort&"), (["time-to-placement"], "time-to-placement?"), (["uplift"], "uplift?"),
                                 (["mentorship", "--program-wide"], "mentorship?program-wide=true&")] {
            let printed = try runCareerlog(["analytics"] + arguments + ["--program", program, "--format", "json", "--data-dir", dir])
            XCTAssertEqual(printed.status, 0, printed.stderr)
            let served = try Data(contentsOf: URL(string: "http://\(http)/api/analytics/\(path)program=\(parameter)")!)
            XCTAssertEqual(String(decoding: served, as: UTF8.self), printed.stdout, path)
            XCTAssertTrue(printed.stdout.contains("\"rows\":[\n{"), "\(path) has rows: \(printed.stdout)")
        }
        XCTAssertEqual(try browser.errors(), [])
    }
}

/// Every JSON document the dashboard loads (as `Dashboard.datasets` lists
/// them), with its fixed options.
enum DashboardDocuments {
    static let paths = [
        "/api/analytics/placement?by=cohort", "/api/analytics/placement?by=program", "/api/analytics/time-to-placement",
        "/api/analytics/uplift", "/api/analytics/mentorship?program-wide=true", "/api/analytics/mentorship",
        "/api/analytics/funnel", "/api/analytics/velocity",
    ]
}
