import Foundation

/// A request as a route sees it: only GET and HEAD reach routes.
public struct WindowRequest: Sendable {
    /// The path without the query, percent-decoding not applied (routes
    /// match plain ASCII paths).
    public var path: String
    /// Query parameters, percent-decoded; a repeated name keeps the last value.
    public var query: [String: String]

    public init(path: String, query: [String: String] = [:]) {
        self.path = path
        self.query = query
    }

    /// Splits a request target (`/a/b?x=1&y`) into path and query.
    public init(target: String) {
        guard let mark = target.firstIndex(of: "?") else {
            self.init(path: target)
            return
        }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.percentDecoded(parts[0])
            query[name] = parts.count > 1 ? Self.percentDecoded(parts[1]) : ""
        }
        self.init(path: String(target[..<mark]), query: query)
    }

    static func percentDecoded(_ text: Substring) -> String {
        let plus = text.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }
}

/// What a route answers: status, content type and body. Routes build
/// their whole body (every answer here is small: at most a few MiB).
public struct WindowResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// Extra headers (e.g. `Retry-After`), after the standard ones.
    public var headers: [(String, String)]

    public init(status: Int, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public static func json(_ text: String, status: Int = 200) -> WindowResponse {
        WindowResponse(status: status, contentType: "application/json; charset=utf-8", body: Array(text.utf8))
    }

    /// `{"error":code,"message":message}`: every error answer's shape.
    public static func error(_ status: Int, code: String, message: String, headers: [(String, String)] = []) -> WindowResponse {
        var response = json(#"{"error":\#(JSONText.string(code)),"message":\#(JSONText.string(message))}"#, status: status)
        response.headers = headers
        return response
    }
}

/// A route: runs on a handler thread (it may block, e.g. on PostgreSQL).
/// A thrown error becomes 500 with the error's description.
public typealias WindowHandler = @Sendable (WindowRequest) throws -> WindowResponse

/// The routes a window serves: exact paths and path prefixes.
public struct WindowRoutes: Sendable {
    struct Route: Sendable {
        var handler: WindowHandler
        /// Served without the read token (health probes).
        var isPublic: Bool
    }

    var exact: [String: Route] = [:]
    var prefixes: [(prefix: String, route: Route)] = []

    public init() {}

    /// Serves `path` exactly.
    public mutating func add(_ path: String, isPublic: Bool = false, _ handler: @escaping WindowHandler) {
        exact[path] = Route(handler: handler, isPublic: isPublic)
    }

    /// Serves every path that starts with `prefix` (longest prefix wins).
    public mutating func addPrefix(_ prefix: String, isPublic: Bool = false, _ handler: @escaping WindowHandler) {
        prefixes.append((prefix, Route(handler: handler, isPublic: isPublic)))
        prefixes.sort { $0.prefix.count > $1.prefix.count }
    }

    func route(for path: String) -> Route? {
        if let route = exact[path] { return route }
        return prefixes.first { path.hasPrefix($0.prefix) }?.route
    }
}

/// JSON text helpers (the window writes small documents by hand so their
/// key order and number formats are exact and stable).
public enum JSONText {
    /// A JSON string literal.
    public static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // "</" inside a <script> would end it when the JSON is inlined in a page.
            case "<": out += "\\u003c"
            case _ where scalar.value < 0x20: out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A number, or null for nil / not finite.
    public static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    public static func optionalString(_ text: String?) -> String {
        text.map(string) ?? "null"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
