import Foundation
import TestSupport
import XCTest
@testable import Window

#if canImport(Glibc)
import Glibc
#endif

final class WindowServerTests: XCTestCase {
    private func routes() -> WindowRoutes {
        var routes = WindowRoutes()
        routes.add("/hello") { request in .json(#"{"hello":\#(JSONText.string(request.query["name"] ?? "world"))}"#) }
        routes.add("/healthz", isPublic: true) { _ in .json(#"{"status":"ok"}"#) }
        routes.addPrefix("/api/analytics/") { request in .json(#"{"figure":\#(JSONText.string(String(request.path.dropFirst(15))))}"#) }
        routes.add("/fails") { _ in throw WindowConfigurationError(message: "the figure is not there") }
        return routes
    }

    func testServesRoutesWithQueryAndPrefix() throws {
        let server = try startWindow(routes: routes())
        defer { server.shutdown() }
        let hello = try get(server.port, "/hello?name=R%C3%A9ka+B")
        XCTAssertEqual(hello.status, 200)
        XCTAssertEqual(hello.body, #"{"hello":"Réka B"}"#)
        XCTAssertEqual(hello.headers["content-type"], "application/json; charset=utf-8")
        XCTAssertEqual(hello.headers["cache-control"], "no-store")
        XCTAssertEqual(try get(server.port, "/api/analytics/placement").body, #"{"figure":"placement"}"#)
        let missing = try get(server.port, "/nope")
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.body.contains(#""error":"not_found""#), missing.body)
        let failing = try get(server.port, "/fails")
        XCTAssertEqual(failing.status, 500)
        XCTAssertEqual(failing.body, #"{"error":"internal","message":"the figure is not there"}"#)
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try startWindow(routes: routes())
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        for name in ["a", "b", "c"] {
            client.send("GET /hello?name=\(name) HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertEqual(client.readResponse()?.body, #"{"hello":"\#(name)"}"#)
        }
    }

    func testOnlyGetAndHead() throws {
        let server = try startWindow(routes: routes())
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        client.send("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.headers["allow"], "GET, HEAD")
    }

    func testOversizedHeadIsAnswered431AndClosed() throws {
        var limits = WindowLimits()
        limits.requestHeadBytesMax = 4096
        let server = try startWindow(routes: routes(), limits: limits)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "a", count: 8192) + "\r\n\r\n")
        let answer = client.readToEnd()
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 431 "), answer)
        XCTAssertTrue(answer.contains(#""error":"head_too_large""#), answer)
        // The connection is closed and the server still serves others.
        XCTAssertEqual(try get(server.port, "/hello").status, 200)
    }

    func testOversizedBodyIsAnswered413AndClosed() throws {
        var limits = WindowLimits()
        limits.requestBodyBytesMax = 1024
        let server = try startWindow(routes: routes(), limits: limits)
        defer { server.shutdown() }
        // Declared too large: answered at once, before the body is read.
        let declared = try RawClient(port: server.port)
        declared.send("GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        XCTAssertTrue(declared.readToEnd().hasPrefix("HTTP/1.1 413 "))
        // Chunked, growing past the limit: answered once it crosses it.
        let chunked = try RawClient(port: server.port)
        chunked.send("GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<3 { chunked.send("200\r\n" + String(repeating: "b", count: 512) + "\r\n") }
        let answer = chunked.readToEnd()
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 413 "), answer)
        XCTAssertTrue(answer.contains(#""error":"body_too_large""#), answer)
    }

    func testSlowRequestIsAnswered408AndClosed() throws {
        var limits = WindowLimits()
        limits.requestReadTimeoutMs = 300
        let server = try startWindow(routes: routes(), limits: limits)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        let start = Date()
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\n")  // a slowloris: never finishes the head
        let answer = client.readToEnd()
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 408 "), answer)
        XCTAssertTrue(answer.contains(#""error":"request_timeout""#), answer)
        XCTAssertGreaterThanOrEqual(elapsed, 0.29)
        XCTAssertLessThan(elapsed, 10)
        XCTAssertEqual(server.connectionCount <= 1, true)
    }

    func testIdleConnectionIsClosedQuietly() throws {
        var limits = WindowLimits()
        limits.idleTimeoutMs = 200
        let server = try startWindow(routes: routes(), limits: limits)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        XCTAssertEqual(client.readToEnd(), "")  // closed with no bytes
        waitUntil("the idle connection to be gone", timeout: .seconds(5)) { server.connectionCount == 0 }
    }

    func testConnectionsBeyondTheLimitGet503AndTheSlotComesBack() throws {
        var limits = WindowLimits()
        limits.connectionsMax = 4
        let server = try startWindow(routes: routes(), limits: limits)
        defer { server.shutdown() }
        var held = try (0..<4).map { _ in try RawClient(port: server.port) }
        waitUntil("4 connections admitted", timeout: .seconds(10)) { server.connectionCount == 4 }
        let refused = try RawClient(port: server.port)
        let answer = refused.readToEnd()
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 503 "), answer)
        XCTAssertTrue(answer.contains(#""error":"too_many_connections""#), answer)
        // The admitted ones are still served.
        held[0].send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(held[0].readResponse()?.status, 200)
        held.removeLast()
        waitUntil("a slot to free up", timeout: .seconds(10)) { server.connectionCount == 3 }
        XCTAssertEqual(try get(server.port, "/hello").status, 200)
    }

    func testRequestsInFlightBeyondTheLimitGet503() throws {
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        var routes = WindowRoutes()
        routes.add("/slow") { _ in
            entered.signal()
            release.wait()
            return .json("{}")
        }
        var limits = WindowLimits()
        limits.requestsInFlightMax = 1
        let server = try startWindow(routes: routes, limits: limits)
        defer { server.shutdown() }
        let first = try RawClient(port: server.port)
        first.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(entered.wait(timeout: .now() + 10), .success)
        let second = try get(server.port, "/slow")
        XCTAssertEqual(second.status, 503)
        XCTAssertEqual(second.headers["retry-after"], "1")
        release.signal()
        XCTAssertEqual(first.readResponse()?.status, 200)
    }

    func testReadTokenGuardsAllButPublicRoutes() throws {
        let token = "0123456789abcdef0123"
        let server = try startWindow(routes: routes(), readToken: token)
        defer { server.shutdown() }
        let denied = try get(server.port, "/hello")
        XCTAssertEqual(denied.status, 401)
        XCTAssertEqual(denied.headers["www-authenticate"], "Bearer")
        XCTAssertEqual(try get(server.port, "/hello", headers: ["Authorization": "Bearer wrong-token-wrong-token"]).status, 401)
        XCTAssertEqual(try get(server.port, "/hello", headers: ["Authorization": "Bearer \(token)"]).status, 200)
        XCTAssertEqual(try get(server.port, "/hello?token=\(token)").status, 200)
        XCTAssertEqual(try get(server.port, "/healthz").status, 200)
    }

    func testAShortTokenAndBadLimitsStopStartUp() {
        XCTAssertThrowsError(try startWindow(routes: routes(), readToken: "short")) { error in
            XCTAssertTrue("\(error)".contains("at least 16 bytes"), "\(error)")
        }
        var limits = WindowLimits()
        limits.requestHeadBytesMax = 10
        XCTAssertThrowsError(try startWindow(routes: routes(), limits: limits))
    }

    func testPortInUseNamesTheAddress() throws {
        let first = try startWindow(routes: routes())
        defer { first.shutdown() }
        var configuration = WindowServer.Configuration()
        configuration.port = first.port
        XCTAssertThrowsError(try WindowServer.start(configuration: configuration, routes: routes(), logger: .init(label: "t"))) { error in
            XCTAssertTrue("\(error)".contains("127.0.0.1:\(first.port)"), "\(error)")
            XCTAssertTrue("\(error)".contains("--http"), "\(error)")
        }
    }
}
