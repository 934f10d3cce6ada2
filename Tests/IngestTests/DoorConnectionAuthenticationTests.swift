import NIOCore
import XCTest

@testable import Ingest

/// The failed-authentication limiter and the per-connection state machine,
/// without sockets.
final class DoorConnectionAuthenticationTests: XCTestCase {
    static let second: UInt64 = 1_000_000_000

    // MARK: - Failed-authentication limiter

    func testTenFailuresAMinuteThenBlockedUntilRefilled() {
        let limiter = FailedAuthenticationLimiter(limits: DoorLimits())
        let start: UInt64 = 1_000 * Self.second
        for i in 1...10 {
            XCTAssertFalse(limiter.isBlocked(peer: "192.0.2.7", now: start), "before failure \(i)")
            XCTAssertTrue(limiter.recordFailure(peer: "192.0.2.7", now: start), "failure \(i) is within the ten")
        }
        XCTAssertTrue(limiter.isBlocked(peer: "192.0.2.7", now: start))
        XCTAssertFalse(limiter.recordFailure(peer: "192.0.2.7", now: start), "the eleventh finds the bucket empty")
        XCTAssertFalse(limiter.isBlocked(peer: "192.0.2.8", now: start), "other addresses are not affected")
        // One try comes back every 6 s (10 a minute).
        XCTAssertTrue(limiter.isBlocked(peer: "192.0.2.7", now: start + 6 * Self.second - 1))
        XCTAssertFalse(limiter.isBlocked(peer: "192.0.2.7", now: start + 6 * Self.second))
        XCTAssertTrue(limiter.recordFailure(peer: "192.0.2.7", now: start + 6 * Self.second))
        XCTAssertTrue(limiter.isBlocked(peer: "192.0.2.7", now: start + 6 * Self.second))
        // After a quiet minute the bucket is full again: ten more.
        let later = start + 6 * Self.second + 60 * Self.second
        for _ in 1...10 { XCTAssertTrue(limiter.recordFailure(peer: "192.0.2.7", now: later)) }
        XCTAssertFalse(limiter.recordFailure(peer: "192.0.2.7", now: later))
    }

    func testTheTableIsBoundedAndForgetsRefilledPeersFirst() {
        var limits = DoorLimits()
        limits.failedAuthenticationPeersMax = 3
        let limiter = FailedAuthenticationLimiter(limits: limits)
        let start: UInt64 = 5 * Self.second
        // Peer "a" empties its bucket; "b" and "c" fail once each.
        for _ in 1...10 { _ = limiter.recordFailure(peer: "a", now: start) }
        _ = limiter.recordFailure(peer: "b", now: start)
        _ = limiter.recordFailure(peer: "c", now: start)
        XCTAssertEqual(limiter.trackedPeers, 3)
        // A fourth peer, with the table full and nobody refilled: the
        // fullest bucket (b or c, 9 tries left) goes, never the blocked "a".
        _ = limiter.recordFailure(peer: "d", now: start)
        XCTAssertEqual(limiter.trackedPeers, 3)
        XCTAssertTrue(limiter.isBlocked(peer: "a", now: start))
        // A minute on, b, c and d have refilled; "a" has too. All full
        // buckets are forgotten at once to make room.
        for peer in 0..<1000 { _ = limiter.recordFailure(peer: "p\(peer)", now: start + 61 * Self.second) }
        XCTAssertEqual(limiter.trackedPeers, 3)
    }

    // MARK: - Auth lines

    private func parse(_ line: String) -> AuthLine.Parse {
        Array(line.utf8).withUnsafeBytes { AuthLine.parse($0, tokenBytesMax: 64) }
    }

    func testAuthLineParsing() {
        XCTAssertEqual(parse(#"{"auth":"clp_x"}"#), .token(Array("clp_x".utf8)))
        XCTAssertEqual(parse(#"  { "auth" : "clp_x" } "#), .token(Array("clp_x".utf8)))
        XCTAssertEqual(parse(#"{"auth":"a\u0062c"}"#), .token(Array("abc".utf8)), "escapes are JSON's")
        XCTAssertEqual(parse(#"{"id":"x","auth":"y"}"#), .notAuth, "an event is never parsed as an auth line")
        XCTAssertEqual(parse("garbage"), .notAuth)
        XCTAssertEqual(parse(#"{"auth":""}"#), .malformed)
        XCTAssertEqual(parse(#"{"auth":1}"#), .malformed)
        XCTAssertEqual(parse(#"{"auth":"x","extra":1}"#), .malformed)
        XCTAssertEqual(parse(#"{"auth":"x""#), .malformed)
        XCTAssertEqual(parse(#"{"auth":"\#(String(repeating: "t", count: 65))"}"#), .malformed, "over tokenBytesMax")
        XCTAssertEqual(parse(#"{"auth":"\#(String(repeating: "t", count: 64))"}"#), .token(Array(repeating: UInt8(ascii: "t"), count: 64)))
    }

    func testAuthenticatedAnswerBytes() {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        AuthLine.writeAuthenticated(producer: "careerforge-api", into: &buffer)
        XCTAssertEqual(buffer.readString(length: buffer.readableBytes), "{\"ok\":true,\"producer\":\"careerforge-api\"}\n")
    }

    // MARK: - The connection state machine

    private func connection(
        limits: DoorLimits = DoorLimits(), limiter: FailedAuthenticationLimiter? = nil, producers: Bool = true, peer: String = "192.0.2.1"
    ) throws -> ConnectionAuthentication {
        let authorizer = producers ? ProducerAuthorizer(registry: try DoorAuthorizerTests.registry()) : nil
        return ConnectionAuthentication(authorizer: authorizer, limiter: limiter ?? FailedAuthenticationLimiter(limits: limits),
                                        limits: limits, peer: peer)
    }

    private func screen(_ state: inout ConnectionAuthentication, _ line: String, now: UInt64 = 0) -> ConnectionAuthentication.Screening {
        Array(line.utf8).withUnsafeBytes { state.screen($0, now: now) }
    }

    static let event = #"{"id":"0b6d6f0e-6f7c-4f4e-9a51-2b8f7d0c1e01","type":"application.sent"}"#
    static let firstLine = #"authenticate first: send {"auth":"<token>"} as the first line"#
    static let badToken = "the token is not valid; check it against the one made for this producer"

    func testEventsBeforeAuthenticationAreRefusedThenTheConnectionCloses() throws {
        var state = try connection()
        XCTAssertFalse(state.isAuthenticated)
        for i in 1..<16 {
            XCTAssertEqual(screen(&state, Self.event), .unauthenticated(message: Self.firstLine, close: false), "line \(i)")
        }
        XCTAssertEqual(screen(&state, Self.event), .unauthenticated(message: Self.firstLine, close: true), "the 16th closes")
        XCTAssertEqual(state.unauthenticatedLines, 16)
    }

    func testGoodTokenAuthenticatesAndLinesBecomeEvents() throws {
        var state = try connection()
        XCTAssertEqual(screen(&state, Self.event), .unauthenticated(message: Self.firstLine, close: false))
        XCTAssertEqual(screen(&state, #"{"auth":"\#(DoorAuthorizerTests.apiToken)"}"#), .authenticated(producer: "careerforge-api"))
        XCTAssertEqual(state.producer, "careerforge-api")
        XCTAssertEqual(screen(&state, Self.event), .event)
    }

    func testWrongTokenIsCountedAndALaterFailureLeavesTheConnectionUnauthenticated() throws {
        let limiter = FailedAuthenticationLimiter(limits: DoorLimits())
        var state = try connection(limiter: limiter)
        XCTAssertEqual(screen(&state, #"{"auth":"clp_wrong"}"#), .unauthenticated(message: Self.badToken, close: false))
        XCTAssertEqual(screen(&state, #"{"auth":"\#(DoorAuthorizerTests.importToken)"}"#), .authenticated(producer: "nightly-import"))
        XCTAssertEqual(screen(&state, #"{"auth":"clp_wrong"}"#), .unauthenticated(message: Self.badToken, close: false))
        XCTAssertNil(state.producer)
        XCTAssertEqual(screen(&state, Self.event), .unauthenticated(message: Self.firstLine, close: false))
        // Two failures so far for this address: eight left this minute.
        for _ in 1...8 { XCTAssertTrue(limiter.recordFailure(peer: "192.0.2.1", now: 0)) }
        XCTAssertFalse(limiter.recordFailure(peer: "192.0.2.1", now: 0))
    }

    func testGuessingIsStoppedAfterTenFailuresEvenWithTheRightToken() throws {
        var limits = DoorLimits()
        limits.unauthenticatedLinesMax = 100
        let limiter = FailedAuthenticationLimiter(limits: limits)
        var state = try connection(limits: limits, limiter: limiter)
        for i in 1...10 {
            XCTAssertEqual(screen(&state, #"{"auth":"clp_guess\#(i)"}"#), .unauthenticated(message: Self.badToken, close: false), "guess \(i)")
        }
        let blocked = ConnectionAuthentication.Screening.unauthenticated(
            message: "too many failed authentications from this address; closing (try again in a minute)", close: true)
        XCTAssertEqual(screen(&state, #"{"auth":"\#(DoorAuthorizerTests.apiToken)"}"#), blocked, "a blocked address's token is not even checked")
        XCTAssertNil(state.producer)
        // A new connection from the same address is turned away at once...
        let next = try connection(limits: limits, limiter: limiter)
        XCTAssertFalse(next.admits(now: 0))
        // ...and one from elsewhere is not.
        XCTAssertTrue(try connection(limits: limits, limiter: limiter, peer: "192.0.2.2").admits(now: 0))
        // A minute later the address may try again.
        var later = try connection(limits: limits, limiter: limiter)
        XCTAssertTrue(later.admits(now: 60 * Self.second))
        XCTAssertEqual(screen(&later, #"{"auth":"\#(DoorAuthorizerTests.apiToken)"}"#, now: 60 * Self.second), .authenticated(producer: "careerforge-api"))
    }

    func testMalformedAuthLineCountsAsAFailure() throws {
        let limiter = FailedAuthenticationLimiter(limits: DoorLimits())
        var state = try connection(limiter: limiter)
        XCTAssertEqual(screen(&state, #"{"auth":"x","producer":"careerforge-api"}"#),
                       .unauthenticated(message: #"the auth line must be {"auth":"<token>"} and nothing else"#, close: false))
        for _ in 1...9 { XCTAssertTrue(limiter.recordFailure(peer: "192.0.2.1", now: 0)) }
        XCTAssertFalse(limiter.recordFailure(peer: "192.0.2.1", now: 0))
    }

    func testImplicitAuthentication() throws {
        var state = try connection()
        state.authenticated(implicitly: try DoorAuthorizerTests.registry().producers[1])
        XCTAssertEqual(state.producer, "mentor-service")
        XCTAssertEqual(screen(&state, Self.event), .event)
    }

    func testWithoutAProducersFileEverythingPassesAndTokensAreRefused() throws {
        var state = try connection(producers: false)
        XCTAssertTrue(state.isAuthenticated)
        XCTAssertTrue(state.admits(now: 0))
        XCTAssertEqual(screen(&state, Self.event), .event)
        XCTAssertEqual(screen(&state, #"{"auth":"\#(DoorAuthorizerTests.apiToken)"}"#), .unauthenticated(
            message: "this server has no producers file, so it takes no tokens; send events without an auth line", close: false))
        XCTAssertNil(state.producer)
        XCTAssertEqual(screen(&state, Self.event), .event)
    }

    func testOverlongLineBeforeAuthenticationCloses() throws {
        var state = try connection()
        XCTAssertEqual(state.lineTooLong(bytes: 70_000),
                       .unauthenticated(message: "a 70000-byte line before authentication (the limit is 4096); closing", close: true))
    }

    func testLimitsValidate() {
        XCTAssertNoThrow(try DoorLimits().validate())
        var limits = DoorLimits()
        limits.unauthenticatedLineBytesMax = 100
        XCTAssertThrowsError(try limits.validate()) { error in
            XCTAssertEqual("\(error)", "the unauthenticated line limit must hold an auth line with the longest token and be at most 1 MiB")
        }
    }
}

/// The safe default for the TCP listener.
final class DoorListenPolicyTests: XCTestCase {
    func testLoopbackIsAlwaysAllowed() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
            XCTAssertEqual(ListenPolicy.check(host: host, port: 7400, tls: false, producers: false, insecureListen: false), .allowed, host)
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "127.0.0.256", "127.0.0", "ingest.example", "128.0.0.1"] {
            XCTAssertFalse(ListenPolicy.isLoopback(host), host)
        }
    }

    func testNetworkAddressNeedsTLSAndProducers() {
        XCTAssertEqual(ListenPolicy.check(host: "0.0.0.0", port: 7400, tls: true, producers: true, insecureListen: false), .allowed)
        XCTAssertEqual(ListenPolicy.check(host: "0.0.0.0", port: 7400, tls: false, producers: false, insecureListen: false), .refused(message:
            "refusing to listen on 0.0.0.0:7400: it is not a loopback address, and anyone who can reach it could write events that can never be removed. "
            + #"Add --tls-cert FILE --tls-key FILE and --producers FILE (README.md, "Running it on a network"), listen on 127.0.0.1, "#
            + "or pass --insecure-listen if every machine that can reach it is trusted"))
        guard case .refused(let onlyProducers) = ListenPolicy.check(host: "::", port: 1, tls: true, producers: false, insecureListen: false) else {
            return XCTFail("TLS alone is not enough")
        }
        XCTAssertTrue(onlyProducers.hasPrefix("refusing to listen on [::]:1: "), onlyProducers)
        XCTAssertTrue(onlyProducers.contains(". Add --producers FILE ("), onlyProducers)
        guard case .refused(let onlyTLS) = ListenPolicy.check(host: "10.0.0.1", port: 1, tls: false, producers: true, insecureListen: false) else {
            return XCTFail("producers alone are not enough")
        }
        XCTAssertTrue(onlyTLS.contains(". Add --tls-cert FILE --tls-key FILE ("), onlyTLS)
    }

    func testInsecureListenStartsWithAWarning() {
        XCTAssertEqual(ListenPolicy.check(host: "0.0.0.0", port: 7400, tls: false, producers: true, insecureListen: true), .allowedInsecurely(warning:
            "listening on 0.0.0.0:7400 without TLS (--insecure-listen): anyone who can reach this address can write events, which can never be removed"))
        XCTAssertEqual(ListenPolicy.check(host: "0.0.0.0", port: 7400, tls: false, producers: false, insecureListen: true), .allowedInsecurely(warning:
            "listening on 0.0.0.0:7400 without TLS and a producers file (--insecure-listen): anyone who can reach this address can write events, which can never be removed"))
    }
}

/// The server-wide door: slots for unauthenticated connections, peer keys.
final class DoorServerStateTests: XCTestCase {
    func testUnauthenticatedSlotsAreBounded() {
        var limits = DoorLimits()
        limits.unauthenticatedConnectionsMax = 3
        let door = IngestDoor(tls: nil, producers: nil, limits: limits)
        XCTAssertEqual((1...5).map { _ in door.admitUnauthenticated() }, [true, true, true, false, false])
        XCTAssertEqual(door.unauthenticatedConnections, 3)
        door.releaseUnauthenticated()
        XCTAssertTrue(door.admitUnauthenticated())
        XCTAssertFalse(door.admitUnauthenticated())
    }

    func testPeerKeyDropsThePort() throws {
        XCTAssertEqual(IngestDoor.peerKey(try SocketAddress(ipAddress: "192.0.2.9", port: 50123)), "192.0.2.9")
        XCTAssertEqual(IngestDoor.peerKey(try SocketAddress(ipAddress: "2001:db8::1", port: 1)), "2001:db8::1")
        XCTAssertEqual(IngestDoor.peerKey(try SocketAddress(unixDomainSocketPath: "/tmp/x.sock")), "unix")
        XCTAssertEqual(IngestDoor.peerKey(nil), "unix")
    }
}
