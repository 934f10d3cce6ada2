import Foundation
import TestSupport
import XCTest
@testable import Window

/// Canned figures in the shape `careerlog analytics NAME --format json`
/// prints: one document with `as_of` and `rows`.
enum CannedFigures {
    static func placement(_ rows: [(cohort: String, enrolled: Int, placed: Int, open: Bool)]) -> String {
        let items = rows.map { r in
            let rate = r.enrolled == 0 ? "null" : JSONText.number(Double(r.placed) / Double(r.enrolled))
            return #"{"cohort":"\#(r.cohort)","enrolled":\#(r.enrolled),"placed_within_12_months":\#(r.placed),"placement_rate":\#(rate),"window_state":"\#(r.open ? "open" : "closed")"}"#
        }
        return #"{"as_of":"2024-06-30T00:00:00Z","rows":[\#(items.joined(separator: ","))]}"#
    }

    static let others: [String: String] = [
        "placementByProgram": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"program":"Data Analytics","enrolled":20,"placed_within_12_months":9,"placement_rate":0.45,"window_state":"open"}]}"#,
        "timeToPlacement": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"cohort":"2024-01","placed":5,"median_days":92.5,"p90_days":180.25}]}"#,
        "uplift": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"cohort":"2024-01","uplift_count":4,"mean_uplift":0.18}]}"#,
        "mentorshipEffect": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"mentored_enrolled":8,"mentored_placed":5,"mentored_rate":0.625,"not_mentored_enrolled":12,"not_mentored_placed":4,"not_mentored_rate":0.3333333333333333,"difference_pp":29.17}]}"#,
        "mentorRoi": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"mentor_id":"0b6e6f52-5a2d-4f55-9d55-1a4f0c0e0a01","mentees":3,"sessions":9,"hours":7.5,"average_rating":4.5,"placed_within_12_months":2,"placement_rate":0.6667,"uplift_count":2,"mean_uplift":0.2,"total_gain":{"EUR":12000},"gain_per_hour":{"EUR":1600}},{"mentor_id":"0b6e6f52-5a2d-4f55-9d55-1a4f0c0e0a02","mentees":1,"sessions":2,"hours":1,"average_rating":null,"placed_within_12_months":0,"placement_rate":0,"uplift_count":0,"mean_uplift":null,"total_gain":{},"gain_per_hour":{}}]}"#,
        "funnel": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"month":"2024-02","sent":40,"interview":12,"offer":4,"placed":3,"interview_per_sent":0.3,"offer_per_interview":0.3333,"placed_per_offer":0.75,"placed_per_sent":0.075}]}"#,
        "velocity": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"subject":"5f0c1a52-0000-4000-8000-000000000001","month":"2024-02","hours":10,"activities_completed":2,"tasks_completed":1},{"subject":"5f0c1a52-0000-4000-8000-000000000002","month":"2024-02","hours":6,"activities_completed":0,"tasks_completed":3}]}"#,
        "status": #"{"ready":true,"reasons":[],"log":{"directory":"/data/log","head_seq":1234,"segments":1,"disk_bytes":4096,"last_event_time":"2024-06-30T00:00:00Z"},"ingest":{"listening":["tcp 127.0.0.1:7400"],"connections":1,"events_per_second":42,"events_stored":1234,"events_duplicate":0,"events_rejected":0},"projections":[],"projection_lag_events_max":0,"projection_lag_seconds_max":null,"postgres":{"where":null,"reachable":true}}"#,
    ]
}

final class DashboardBrowserTests: XCTestCase {
    /// A window serving the dashboard with canned figures; `placement` can
    /// change while the page is open.
    private func startDashboard(placement: Served, perProgram: [String: [String: String]] = [:]) throws -> WindowServer {
        var routes = WindowRoutes()
        try Dashboard.addRoutes(to: &routes, refreshMs: 300)
        let byKey = Dictionary(uniqueKeysWithValues: Dashboard.datasets.map { ("\($0.path)?\($0.query.sorted { $0.key < $1.key })", $0.name) })
        let answer: WindowHandler = { request in
            let key = "\(request.path)?\(request.query.filter { $0.key != "program" }.sorted { $0.key < $1.key })"
            guard let name = byKey[key] else { return .error(400, code: "unknown", message: "no canned figure for \(key)") }
            if let program = request.query["program"], let figure = perProgram[program]?[name] { return .json(figure) }
            return .json(name == "placement" ? placement.value : CannedFigures.others[name]!)
        }
        routes.addPrefix("/api/analytics/", answer)
        routes.add("/api/status", answer)
        return try startWindow(routes: routes)
    }

    private let placementChart = """
        (() => { const c = window.careerlogDashboard && window.careerlogDashboard.charts.placement;
          if (!c) return null;
          return { labels: c.data.labels.map((l) => Array.isArray(l) ? l.join(' ') : l), rates: c.data.datasets[0].data,
                   bars: c.getDatasetMeta(0).data.length,
                   striped: c.data.datasets[0].backgroundColor.map((b) => typeof b !== 'string'),
                   heights: c.getDatasetMeta(0).data.map((bar) => Math.round(bar.base - bar.y)) }; })()
        """

    func testPageShowsOneBarPerCohortUpdatesWithoutReloadAndLogsNoErrors() throws {
        let placement = Served(CannedFigures.placement([("2024-01", 10, 5, false), ("2024-02", 8, 2, false), ("2024-03", 8, 1, true)]))
        let server = try startDashboard(placement: placement)
        defer { server.shutdown() }
        let browser = try ChromiumDriver(artefacts: Paths.artefacts)
        try browser.navigate("http://127.0.0.1:\(server.port)/")
        try browser.wait("window.careerlogDashboard && window.careerlogDashboard.updates >= 1")
        let first = try XCTUnwrap(browser.evaluate(placementChart) as? [String: Any])
        XCTAssertEqual(first["labels"] as? [String], ["2024-01", "2024-02", "2024-03 (open)"])
        XCTAssertEqual(first["rates"] as? [Double], [50, 25, 12.5])
        XCTAssertEqual(first["bars"] as? Int, 3)
        XCTAssertEqual(first["striped"] as? [Bool], [false, false, true])
        // Drawn bar heights keep the rates' proportions (50 : 25 : 12.5).
        let heights = try XCTUnwrap(first["heights"] as? [Int])
        XCTAssertEqual(Double(heights[0]) / Double(heights[1]), 2, accuracy: 0.05)
        XCTAssertEqual(Double(heights[1]) / Double(heights[2]), 2, accuracy: 0.1)
        // The numbers under the chart, the headline and the mentor table.
        XCTAssertEqual(try browser.evaluate("[...document.querySelectorAll('#table-placement tbody tr')].map((tr) => tr.textContent).join('|')") as? String,
                       "2024-0110550.0%closed|2024-028225.0%closed|2024-038112.5%open")
        XCTAssertEqual(try browser.evaluate("document.querySelector('#mentored-headline b').textContent") as? String, "+29.2 points")
        XCTAssertEqual(try browser.evaluate("document.querySelectorAll('#table-mentors tbody tr').length") as? Int, 2)
        XCTAssertEqual(try browser.evaluate("document.querySelector('#op-head b').textContent") as? String, "1,234")
        try browser.screenshot("dashboard.png")

        // A new placement and a new cohort, served while the page is open.
        _ = try browser.evaluate("window.notReloaded = true")
        placement.value = CannedFigures.placement([("2024-01", 10, 5, false), ("2024-02", 8, 3, false), ("2024-03", 8, 1, true), ("2024-04", 4, 1, true)])
        try browser.wait("window.careerlogDashboard.charts.placement.data.labels.length === 4")
        let second = try XCTUnwrap(browser.evaluate(placementChart) as? [String: Any])
        XCTAssertEqual(second["rates"] as? [Double], [50, 37.5, 12.5, 25])
        XCTAssertEqual(second["bars"] as? Int, 4)
        XCTAssertEqual(try browser.evaluate("window.notReloaded === true") as? Bool, true, "the page reloaded")

        // Definitions are one click away.
        _ = try browser.evaluate("document.querySelector('#panel-placement button.def').click()")
        XCTAssertEqual(try browser.evaluate("document.getElementById('definitions').open") as? Bool, true)
        let highlighted = try browser.evaluate("document.querySelector('#definitions li.highlight').textContent") as? String
        XCTAssertTrue(highlighted?.hasPrefix("Placement rate per cohort, per program and per target_industry") == true, highlighted ?? "none")
        try browser.screenshot("dashboard-definitions.png")

        XCTAssertEqual(try browser.errors(), [])
        let origin = "http://127.0.0.1:\(server.port)/"
        XCTAssertEqual(try browser.requests().filter { !$0.hasPrefix(origin) }, [], "every request stays on this server")
    }

    /// What the per-cohort charts show for the canned program "Data Analytics".
    static let dataAnalytics: [String: String] = [
        "placement": CannedFigures.placement([("2024-01", 4, 3, false), ("2024-03", 2, 1, true)]),
        "timeToPlacement": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"cohort":"2024-01","placed":3,"median_days":40,"p90_days":61.5}]}"#,
        "uplift": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"cohort":"2024-01","uplift_count":2,"mean_uplift":0.3}]}"#,
        "mentorshipEffect": #"{"as_of":"2024-06-30T00:00:00Z","rows":[{"mentored_enrolled":2,"mentored_placed":2,"mentored_rate":1,"not_mentored_enrolled":4,"not_mentored_placed":2,"not_mentored_rate":0.5,"difference_pp":50.00}]}"#,
    ]

    private let perCohortCharts = """
        (() => { const c = window.careerlogDashboard.charts;
          return { placement: c.placement.data.datasets[0].data, labels: c.placement.data.labels.map((l) => Array.isArray(l) ? l.join(' ') : l),
                   median: c.time.data.datasets[0].data, p90: c.time.data.datasets[1].data, uplift: c.uplift.data.datasets[0].data,
                   mentored: c.mentored.data.datasets[0].data }; })()
        """

    private func chooseProgram(_ browser: ChromiumDriver, _ program: String) throws {
        _ = try browser.evaluate("""
            (() => { const s = document.getElementById('filter-program'); s.value = \(JSONText.string(program));
              s.dispatchEvent(new Event('change')); return s.value; })()
            """)
    }

    func testTheProgramFilterLimitsThePerCohortCharts() throws {
        let placement = Served(CannedFigures.placement([("2024-01", 10, 5, false), ("2024-02", 8, 2, false), ("2024-03", 8, 1, true)]))
        let server = try startDashboard(placement: placement, perProgram: ["Data Analytics": Self.dataAnalytics])
        defer { server.shutdown() }
        let browser = try ChromiumDriver(artefacts: Paths.artefacts)
        try browser.navigate("http://127.0.0.1:\(server.port)/")
        try browser.wait("window.careerlogDashboard && window.careerlogDashboard.updates >= 1 && document.getElementById('filter-program').options.length === 2")
        try chooseProgram(browser, "Data Analytics")
        try browser.wait("window.careerlogDashboard.charts.placement.data.labels.length === 2")
        let charts = try XCTUnwrap(browser.evaluate(perCohortCharts) as? [String: Any])
        XCTAssertEqual(charts["labels"] as? [String], ["2024-01", "2024-03 (open)"])
        XCTAssertEqual(charts["placement"] as? [Double], [75, 50])
        XCTAssertEqual(charts["median"] as? [Double], [40])
        XCTAssertEqual(charts["p90"] as? [Double], [61.5])
        XCTAssertEqual(charts["uplift"] as? [Double], [30])
        XCTAssertEqual(charts["mentored"] as? [Double], [100, 50])
        XCTAssertEqual(try browser.evaluate("document.getElementById('mentored-headline').textContent") as? String,
                       "+50.0 points for mentored enrollees: 100.0% (2 of 2) versus 50.0% (2 of 4) not mentored.")
        XCTAssertEqual(try browser.evaluate("document.getElementById('program-note').textContent") as? String,
                       "The per-cohort figures count Data Analytics's enrollees only. Overall: 45.0% placed within 12 months (9 of 20).")
        let filtered = try browser.requests().filter { $0.contains("program=Data+Analytics") || $0.contains("program=Data%20Analytics") }
        for path in ["/api/analytics/placement", "/api/analytics/time-to-placement", "/api/analytics/uplift", "/api/analytics/mentorship"] {
            XCTAssertTrue(filtered.contains { $0.contains(path) }, "\(path) was not asked with the program: \(filtered)")
        }
        try browser.screenshot("dashboard-program.png")
        // Back to all programs.
        try chooseProgram(browser, "")
        try browser.wait("window.careerlogDashboard.charts.placement.data.labels.length === 3")
        XCTAssertEqual(try browser.errors(), [])
    }

    func testTheMentorTableSortsByAColumn() throws {
        let server = try startDashboard(placement: Served(CannedFigures.placement([("2024-01", 1, 1, false)])))
        defer { server.shutdown() }
        let browser = try ChromiumDriver(artefacts: Paths.artefacts)
        try browser.navigate("http://127.0.0.1:\(server.port)/")
        try browser.wait("window.careerlogDashboard && window.careerlogDashboard.updates >= 1")
        let firstColumn = "[...document.querySelectorAll('#table-mentors tbody tr')].map((tr) => tr.cells[2].textContent).join(',')"
        XCTAssertEqual(try browser.evaluate(firstColumn) as? String, "9,2")  // by placement rate, highest first
        _ = try browser.evaluate("document.querySelector('#table-mentors th[data-key=sessions]').click()")
        _ = try browser.evaluate("document.querySelector('#table-mentors th[data-key=sessions]').click()")
        XCTAssertEqual(try browser.evaluate(firstColumn) as? String, "2,9")  // ascending on the second click
        XCTAssertEqual(try browser.errors(), [])
    }

    func testTheReportIsOneFileThatNeedsNoServer() throws {
        let placement = CannedFigures.placement([("2024-01", 10, 5, false), ("2024-02", 8, 2, true)])
        var data = CannedFigures.others
        data["placement"] = placement
        for (name, figure) in Self.dataAnalytics { data[Dashboard.embeddedKey(name, program: "Data Analytics")] = figure }
        data[Dashboard.embeddedKey("velocity", program: "Data Analytics")] = CannedFigures.others["velocity"]
        let html = Dashboard.report(data: data, chartLibrary: try Dashboard.chartLibrary(), generatedAt: "2024-07-01T09:00:00Z")
        try FileManager.default.createDirectory(at: Paths.artefacts, withIntermediateDirectories: true)
        let file = Paths.artefacts.appendingPathComponent("report.html")
        try html.write(to: file, atomically: true, encoding: .utf8)
        let browser = try ChromiumDriver(artefacts: Paths.artefacts)
        try browser.navigate(file.absoluteString)
        try browser.wait("window.careerlogDashboard && window.careerlogDashboard.updates >= 1")
        let chart = try XCTUnwrap(browser.evaluate(placementChart) as? [String: Any])
        XCTAssertEqual(chart["labels"] as? [String], ["2024-01", "2024-02 (open)"])
        XCTAssertEqual(chart["rates"] as? [Double], [50, 25])
        XCTAssertEqual(try browser.evaluate("document.getElementById('updated').textContent") as? String, "report generated 2024-07-01T09:00:00Z")
        try browser.screenshot("report.png")
        // The program filter works offline: the report holds each program's figures.
        try chooseProgram(browser, "Data Analytics")
        try browser.wait("window.careerlogDashboard.charts.placement.data.labels.length === 2")
        XCTAssertEqual(try XCTUnwrap(browser.evaluate(perCohortCharts) as? [String: Any])["placement"] as? [Double], [75, 50])
        XCTAssertEqual(try browser.errors(), [])
        XCTAssertEqual(try browser.requests().filter { !$0.hasPrefix("file:") && !$0.hasPrefix("data:") }, [], "the report loads nothing")
    }
}
