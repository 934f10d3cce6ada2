/// The safe default for the TCP listener: a non-loopback address takes
/// events from the network, so it needs TLS (nobody reads or alters them on
/// the way) and a producers file (only known producers write, each only its
/// own types). Without both the server refuses to start, unless the
/// operator says `--insecure-listen`.
public enum ListenPolicy {
    public enum Verdict: Equatable, Sendable {
        case allowed
        /// Start, but log this warning first.
        case allowedInsecurely(warning: String)
        case refused(message: String)
    }

    /// Checks listening on TCP `host`:`port` with what the server has.
    public static func check(host: String, port: Int, tls: Bool, producers: Bool, insecureListen: Bool) -> Verdict {
        let address = IngestEndpoint.tcp(host: host, port: port).description
        if isLoopback(host) || (tls && producers) { return .allowed }
        var missing: [String] = []
        if !tls { missing.append("--tls-cert FILE --tls-key FILE") }
        if !producers { missing.append("--producers FILE") }
        let what = missing.joined(separator: " and ")
        if insecureListen {
            let lacking = [tls ? nil : "TLS", producers ? nil : "a producers file"].compactMap { $0 }.joined(separator: " and ")
            return .allowedInsecurely(warning:
                "listening on \(address) without \(lacking) (--insecure-listen): anyone who can reach this address "
                + "can write events, which can never be removed")
        }
        return .refused(message:
            "refusing to listen on \(address): it is not a loopback address, and anyone who can reach it could write events "
            + "that can never be removed. Add \(what) (README.md, \"Running it on a network\"), listen on 127.0.0.1, "
            + "or pass --insecure-listen if every machine that can reach it is trusted")
    }

    /// Checks the HTTP window on `host`:`port`: beyond loopback it serves
    /// career figures and metrics, so it needs TLS (the door's certificate)
    /// and a read token, or `--insecure-listen`.
    public static func checkHTTP(host: String, port: Int, tls: Bool, token: Bool, insecureListen: Bool) -> Verdict {
        let address = IngestEndpoint.tcp(host: host, port: port).description
        if isLoopback(host) || (tls && token) { return .allowed }
        let lacking = [tls ? nil : "TLS", token ? nil : "a read token"].compactMap { $0 }.joined(separator: " and ")
        if insecureListen {
            return .allowedInsecurely(warning:
                "serving HTTP on \(address) without \(lacking) (--insecure-listen): anyone who can reach this address "
                + "can read the dashboard, the analytics and the metrics\(tls ? "" : ", and see the token if there is one")")
        }
        let what = [tls ? nil : "--tls-cert FILE --tls-key FILE", token ? nil : "CAREERLOG_HTTP_TOKEN"].compactMap { $0 }.joined(separator: " and ")
        return .refused(message:
            "refusing to serve HTTP on \(address): it is not a loopback address, and anyone who can reach it could read "
            + "the career figures and metrics. Add \(what) (README.md, \"The window\"), use --http 127.0.0.1:PORT or --no-http, "
            + "or pass --insecure-listen if every machine that can reach it is trusted")
    }

    /// 127.0.0.0/8, ::1 and `localhost`. Any other name counts as
    /// non-loopback: it may resolve to anything.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            guard let value = Int(part), !part.isEmpty, part.count <= 3 else { return false }
            return value >= 0 && value <= 255
        }
    }
}
