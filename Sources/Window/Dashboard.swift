import Foundation

/// The dashboard page, live (`GET /`) or as one self-contained file
/// (`careerlog report --html`).
///
/// Chart.js comes from Debian's `libjs-chart.js` at its installed path
/// rather than a copy embedded here: the machines have no npm registry, the
/// Debian package is pinned, licensed and security-patched by the
/// distribution, `Tools/setup.sh` installs it, and the repository does not
/// carry 200 KB of minified third-party code. The live page loads it from
/// this server (`/assets/chart.js`), the report inlines it: either way no
/// request leaves the machine and the page works offline.
public enum Dashboard {
    /// One JSON document the page shows, and where it comes from.
    public struct Dataset: Sendable, Equatable {
        /// The page's key for it.
        public var name: String
        public var path: String
        /// Fixed query parameters (the CLI options of the same figure).
        public var query: [String: String]
        /// Whether the page adds `program=` when a program is chosen.
        public var programFilter: Bool
    }

    /// The figures the page shows. Each `/api/analytics/NAME` answers exactly
    /// what `careerlog analytics NAME --format json` prints with the same
    /// options (query parameters named as the options, without `--`).
    public static let datasets: [Dataset] = [
        Dataset(name: "placement", path: "/api/analytics/placement", query: ["by": "cohort"], programFilter: true),
        Dataset(name: "placementByProgram", path: "/api/analytics/placement", query: ["by": "program"], programFilter: false),
        Dataset(name: "timeToPlacement", path: "/api/analytics/time-to-placement", query: [:], programFilter: true),
        Dataset(name: "uplift", path: "/api/analytics/uplift", query: [:], programFilter: true),
        Dataset(name: "mentorshipEffect", path: "/api/analytics/mentorship", query: ["program-wide": "true"], programFilter: true),
        Dataset(name: "mentorRoi", path: "/api/analytics/mentorship", query: [:], programFilter: false),
        Dataset(name: "funnel", path: "/api/analytics/funnel", query: [:], programFilter: false),
        Dataset(name: "velocity", path: "/api/analytics/velocity", query: [:], programFilter: true),
        Dataset(name: "status", path: "/api/status", query: [:], programFilter: false),
    ]

    /// The report's key for dataset `name` limited to `program` (nil: all
    /// programs). The page's script builds the same key.
    public static func embeddedKey(_ name: String, program: String?) -> String {
        program.map { name + "@" + $0 } ?? name
    }

    /// Where the page loads Chart.js from on the live server.
    public static let chartRoute = "/assets/chart.js"
    /// Chart.js 3.9.1 (UMD build, defines `Chart`) as Debian installs it.
    public static let chartLibraryPath = "/usr/share/javascript/chart.js/chart.min.js"
    /// How often the live page polls, in ms: a new placement shows within
    /// seconds, and ~10 small GETs per viewer per period cost little.
    public static let refreshMsDefault = 5_000

    /// Browsers enforce that the live page only talks to this server.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
        + "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    /// The report may load nothing at all: everything is inline.
    static let reportContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

    /// The live page.
    public static func page(refreshMs: Int = refreshMsDefault) -> String {
        fill(DashboardPage.html, [
            "CSP": "",
            "CHART": #"<script src="\#(chartRoute)"></script>"#,
            "CONFIG": config(refreshMs: refreshMs, embedded: nil, generatedAt: nil),
            "SCRIPT": DashboardPage.script,
        ])
    }

    /// The same page as one file: `data` maps each dataset's name to the
    /// JSON document its endpoint would answer; Chart.js is inlined.
    public static func report(data: [String: String], chartLibrary: String, generatedAt: String) -> String {
        fill(DashboardPage.html, [
            "CSP": #"<meta http-equiv="Content-Security-Policy" content="\#(reportContentSecurityPolicy)">"#,
            "CHART": "<script>\n" + chartLibrary.replacingOccurrences(of: "</script", with: "<\\/script") + "\n</script>",
            "CONFIG": config(refreshMs: 0, embedded: data, generatedAt: generatedAt),
            "SCRIPT": DashboardPage.script,
        ])
    }

    /// Reads Chart.js from the Debian package.
    public static func chartLibrary(path: String = chartLibraryPath) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw WindowConfigurationError(message: "Chart.js is not at \(path): install Debian's libjs-chart.js (Tools/setup.sh does)")
        }
        return text
    }

    /// Adds `/` and `/assets/chart.js` to `routes`. The library is read once
    /// here, so a missing package stops start-up with a clear message.
    public static func addRoutes(to routes: inout WindowRoutes, chartLibraryPath: String = chartLibraryPath, refreshMs: Int = refreshMsDefault) throws {
        let page = Array(page(refreshMs: refreshMs).utf8)
        let library = Array(try chartLibrary(path: chartLibraryPath).utf8)
        routes.add("/") { _ in
            WindowResponse(status: 200, contentType: "text/html; charset=utf-8", body: page,
                           headers: [("Content-Security-Policy", contentSecurityPolicy)])
        }
        routes.add(chartRoute) { _ in
            WindowResponse(status: 200, contentType: "text/javascript; charset=utf-8", body: library)
        }
    }

    /// The page's configuration, inside `<script type="application/json">`:
    /// every `<` is escaped so no data can close the element.
    static func config(refreshMs: Int, embedded: [String: String]?, generatedAt: String?) -> String {
        let datasets = datasets.map { d in
            let query = d.query.sorted { $0.key < $1.key }.map { "\(JSONText.string($0.key)):\(JSONText.string($0.value))" }
            return #"\#(JSONText.string(d.name)):{"path":\#(JSONText.string(d.path)),"query":{\#(query.joined(separator: ","))},"programFilter":\#(d.programFilter)}"#
        }
        var members = [#""datasets":{\#(datasets.joined(separator: ","))}"#, #""refreshMs":\#(refreshMs)"#,
                       #""definitions":\#(JSONText.string(AnalyticsDefinitions.markdown))"#]
        if let embedded {
            let items = embedded.sorted { $0.key < $1.key }.map { "\(JSONText.string($0.key)):\($0.value.replacingOccurrences(of: "<", with: "\\u003c"))" }
            members.append(#""embedded":{\#(items.joined(separator: ","))}"#)
            members.append(#""generatedAt":\#(JSONText.optionalString(generatedAt))"#)
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Replaces `{{NAME}}` in `template` in one pass, so text that is put in
    /// is never searched for placeholders again.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}"),
                  let value = values[String(rest[open.upperBound..<close.lowerBound])] else {
                out += "{{"
                rest = rest[open.upperBound...]
                continue
            }
            out += value
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
