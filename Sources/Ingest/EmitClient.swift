import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The parts of `careerlog emit` around `EmitSession`: where the token
/// comes from, how the connection is made (plain or TLS), and the summary
/// line printed at the end. The command line only parses options and
/// reports what these return.
public enum EmitClient {
    /// A token file that gives no token; `message` says why, naming the file.
    public struct TokenFileError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Lines after the first are ignored, and only this much of the file is
    /// read: a token is about 50 bytes.
    public static let tokenFileBytesRead = 4096

    /// The first line of `path` without surrounding white space.
    public static func token(fromFile path: String) throws(TokenFileError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenFileError(message: "cannot read the token file \(path): check that it exists and that you may read it")
        }
        let firstLine = String(decoding: data.prefix(tokenFileBytesRead), as: UTF8.self).split(whereSeparator: \.isNewline).first ?? ""
        let token = firstLine.trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { throw TokenFileError(message: "the token file \(path) is empty; put the producer's token on its first line") }
        return token
    }

    /// A connection to the server: a plain socket, or (with `tls`, on TCP)
    /// the caller's end of a TLS bridge, which the caller closes after the socket.
    public static func connect(_ endpoint: IngestEndpoint, tls: TLSClientFiles?) throws -> (IngestSocket, IngestTLSBridge?) {
        guard let tls, case .tcp(let host, let port) = endpoint else { return (try IngestSocket(endpoint: endpoint), nil) }
        let context = try TLSClientContext.make(tls)
        let bridge = try IngestTLSBridge.connect(host: host, port: port, context: context)
        return (IngestSocket(connectedDescriptor: dup(bridge.descriptor)), bridge)
    }
}

extension EmitSession.Result {
    /// The one JSON line `emit` prints: `{"sent":N,"stored":S,"duplicates":D,"rejected":R}`.
    public var summaryJSON: String {
        #"{"sent":\#(sent),"stored":\#(stored),"duplicates":\#(duplicates),"rejected":\#(rejected)}"#
    }

    /// What `emit` says on stderr about lines left unanswered; none when every line was answered.
    public func unansweredMessage(tlsFailure: String?) -> [String] {
        guard unanswered > 0 else { return [] }
        var lines = ["\(unanswered) of \(sent) lines got no answer (the connection closed early); they may or may not be stored, send them again"]
        if let tlsFailure { lines.append("the TLS connection ended with: \(tlsFailure)") }
        return lines
    }
}
