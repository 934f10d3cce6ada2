import CareerEvents
import NIOCore

/// The first line a producer sends on a connection that needs a token:
///
///     -> {"auth":"clp_4f0c..."}
///     <- {"ok":true,"producer":"careerforge-api"}
///
/// Exactly one member, `auth`, a string of at most `tokenBytesMax` bytes.
public enum AuthLine {
    public enum Parse: Equatable {
        /// Not an auth line (an event, or garbage).
        case notAuth
        case token([UInt8])
        /// Starts like an auth line but is not one.
        case malformed
    }

    /// Reads `line` (without its line ending). Event lines are told apart
    /// by their first bytes, without a JSON parse: only a line opening with
    /// `{"auth"` is parsed.
    public static func parse(_ line: UnsafeRawBufferPointer, tokenBytesMax: Int) -> Parse {
        var i = 0
        func skipSpace() { while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 } }
        skipSpace()
        guard i < line.count, line[i] == UInt8(ascii: "{") else { return .notAuth }
        i += 1
        skipSpace()
        let key = #""auth""#.utf8
        guard line.count - i >= key.count, zip(line[i...], key).allSatisfy({ $0 == $1 }) else { return .notAuth }
        guard case .object(let object)? = try? JSONParser.parse(line, limits: JSONParseLimits(depthMax: 2)),
              object.count == 1, case .string(let token)? = object["auth"],
              !token.isEmpty, token.utf8.count <= tokenBytesMax else { return .malformed }
        return .token(Array(token.utf8))
    }

    /// `{"ok":true,"producer":"NAME"}` and a newline. Producer names are
    /// `[a-z0-9._-]`, so they need no escaping; `writeString` escapes anyway.
    public static func writeAuthenticated(producer: String, into buffer: inout ByteBuffer) {
        var bytes = Array(#"{"ok":true,"producer":"#.utf8)
        JSONValue.writeString(producer, into: &bytes)
        bytes.append(contentsOf: "}\n".utf8)
        buffer.writeBytes(bytes)
    }
}

/// Who one connection is, as a value-type state machine without I/O (the
/// connection handler feeds it lines and carries out what it answers).
///
/// A connection starts unauthenticated when the server has a producers
/// file, and authenticated as nobody (`producer == nil`, everything passes)
/// when it has none. It becomes a producer by an auth line, or implicitly
/// by a client certificate or a Unix peer uid the producers file names.
/// Until then every line is answered `unauthenticated`. The state machine
/// lets an auth line come again later (the last one decides, and a failed
/// one leaves the connection unauthenticated); `DoorGateHandler` stops
/// screening once the connection is authenticated, so on the server a
/// producer authenticates once.
public struct ConnectionAuthentication {
    /// What to do with one line.
    public enum Screening: Equatable {
        /// Treat the line as an event: authorize it with `producer`.
        case event
        /// A good auth line: answer `{"ok":true,"producer":NAME}`.
        case authenticated(producer: String)
        /// Answer `unauthenticated` with `message`; close the connection
        /// right after when `close`.
        case unauthenticated(message: String, close: Bool)
    }

    public let required: Bool
    public let limits: DoorLimits
    /// The authenticated producer's name; nil before authentication (or
    /// always, when authentication is not required).
    public private(set) var producer: String?
    /// Lines answered `unauthenticated` so far.
    public private(set) var unauthenticatedLines = 0
    /// The failed-authentication key: the peer's address without its port.
    public let peer: String
    private let authorizer: ProducerAuthorizer?
    private let limiter: FailedAuthenticationLimiter

    /// `authorizer` nil means no producers file: nothing to authenticate.
    public init(authorizer: ProducerAuthorizer?, limiter: FailedAuthenticationLimiter, limits: DoorLimits, peer: String) {
        self.required = authorizer != nil
        self.authorizer = authorizer
        self.limiter = limiter
        self.limits = limits
        self.peer = peer
    }

    /// True once lines may be events.
    public var isAuthenticated: Bool { !required || producer != nil }

    /// Whether a new connection from this peer may go on at all: false
    /// while its failed authentications are over the limit.
    public func admits(now: UInt64) -> Bool {
        !required || !limiter.isBlocked(peer: peer, now: now)
    }

    /// A certificate or peer uid named `producer`.
    public mutating func authenticated(implicitly producer: Producer) {
        precondition(required, "implicit authentication without a producers file")
        self.producer = producer.name
    }

    /// Decides what a non-blank line is. `now` is monotonic nanoseconds.
    public mutating func screen(_ line: UnsafeRawBufferPointer, now: UInt64) -> Screening {
        switch AuthLine.parse(line, tokenBytesMax: limits.tokenBytesMax) {
        case .notAuth:
            return isAuthenticated ? .event : refuseUnauthenticatedLine()
        case .token(let token):
            return authenticate(token: token, now: now)
        case .malformed:
            return failedAttempt(now: now, message: #"the auth line must be {"auth":"<token>"} and nothing else"#)
        }
    }

    /// A line longer than `unauthenticatedLineBytesMax` before
    /// authentication: no producer sends one, so the connection goes.
    public mutating func lineTooLong(bytes: Int) -> Screening {
        unauthenticatedLines += 1
        return .unauthenticated(message: "a \(bytes)-byte line before authentication (the limit is \(limits.unauthenticatedLineBytesMax)); closing", close: true)
    }

    private mutating func authenticate(token: [UInt8], now: UInt64) -> Screening {
        guard let authorizer else {
            unauthenticatedLines += 1
            return .unauthenticated(message: "this server has no producers file, so it takes no tokens; send events without an auth line", close: false)
        }
        if limiter.isBlocked(peer: peer, now: now) { return blocked() }
        switch authorizer.authenticate(token: token) {
        case .producer(let found):
            producer = found.name
            return .authenticated(producer: found.name)
        case .refused:
            return failedAttempt(now: now, message: "the token is not valid; check it against the one made for this producer")
        }
    }

    private mutating func failedAttempt(now: UInt64, message: String) -> Screening {
        producer = nil
        unauthenticatedLines += 1
        guard required else { return .unauthenticated(message: message, close: false) }
        guard limiter.recordFailure(peer: peer, now: now) else { return blocked() }
        return .unauthenticated(message: message, close: unauthenticatedLines >= limits.unauthenticatedLinesMax)
    }

    private mutating func refuseUnauthenticatedLine() -> Screening {
        unauthenticatedLines += 1
        return .unauthenticated(
            message: #"authenticate first: send {"auth":"<token>"} as the first line"#,
            close: unauthenticatedLines >= limits.unauthenticatedLinesMax)
    }

    private func blocked() -> Screening {
        .unauthenticated(message: "too many failed authentications from this address; closing (try again in a minute)", close: true)
    }
}
