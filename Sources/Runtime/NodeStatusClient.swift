import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `careerlog status`'s side of `/api/status`: asks a running node's HTTP
/// window for its summary.
public enum NodeStatusClient {
    /// How long to wait for the node: it answers from memory and one short query.
    public static let requestTimeoutSeconds = 10.0

    /// What the node answered.
    public enum Answer: Sendable, Equatable {
        /// HTTP 200: the summary (`text` as shown on a terminal, or the JSON document).
        case summary(String, ready: Bool)
        /// Another HTTP status, with its body.
        case refused(status: Int, body: String)
        /// Nothing answered; why.
        case noAnswer(String)
    }

    /// Fetches `http://<hostPort>/api/status` (`?format=text` unless
    /// `json`), sending `token` as the bearer token when given; nil when
    /// `hostPort` makes no URL.
    public static func fetch(hostPort: String, json: Bool, token: String?) -> Answer? {
        guard let url = URL(string: "http://\(hostPort)/api/status" + (json ? "" : "?format=text")) else { return nil }
        var request = URLRequest(url: url, timeoutInterval: requestTimeoutSeconds)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        final class Box: @unchecked Sendable { var result: (Data?, Int?, String?) = (nil, nil, nil) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.result = (data, (response as? HTTPURLResponse)?.statusCode, error?.localizedDescription)
            done.signal()
        }.resume()
        done.wait()
        guard let body = box.result.0, let status = box.result.1 else { return .noAnswer(box.result.2 ?? "no answer") }
        let text = String(decoding: body, as: UTF8.self)
        guard status == 200 else { return .refused(status: status, body: text) }
        return .summary(text, ready: !(json ? text.contains(#""ready":false"#) : text.hasPrefix("ready:        no")))
    }
}
