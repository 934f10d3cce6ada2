import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// What every connection of one window shares.
struct WindowShared: Sendable {
    let routes: WindowRoutes
    let limits: WindowLimits
    let readToken: [UInt8]?
    let threadPool: NIOThreadPool
    /// Requests being answered now, across connections.
    let inFlight: NIOLockedValueBox<Int>
}

/// One connection's requests: checks method, body size and the read token,
/// runs the route on a handler thread, writes the answer.
final class WindowHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let shared: WindowShared
    private let requestGuard: RequestGuard
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    /// Set when the request was already answered (413) and closed.
    private var answered = false

    init(shared: WindowShared, requestGuard: RequestGuard) {
        self.shared = shared
        self.requestGuard = requestGuard
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            requestGuard.headReceived()
            head = requestHead
            bodyBytes = 0
            answered = false
            if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init), length > shared.limits.requestBodyBytesMax {
                rejectBody(context: context)
            }
        case .body(let buffer):
            guard !answered else { return }
            bodyBytes += buffer.readableBytes
            if bodyBytes > shared.limits.requestBodyBytesMax { rejectBody(context: context) }
        case .end:
            guard !answered, let head else { return }
            requestGuard.requestReceived()
            answer(head, context: context)
        }
    }

    private func rejectBody(context: ChannelHandlerContext) {
        guard let head else { return }
        answered = true
        requestGuard.requestReceived()
        write(.error(413, code: "body_too_large", message: "the request body exceeds \(shared.limits.requestBodyBytesMax) bytes; every route here is a GET"),
              for: head, keepAlive: false, context: context)
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        guard head.method == .GET || head.method == .HEAD else {
            return write(.error(405, code: "method_not_allowed", message: "only GET and HEAD are served", headers: [("Allow", "GET, HEAD")]),
                         for: head, keepAlive: keepAlive, context: context)
        }
        let request = WindowRequest(target: head.uri)
        guard let route = shared.routes.route(for: request.path) else {
            return write(.error(404, code: "not_found", message: "no such path; try / (the dashboard), /metrics, /healthz or /readyz"),
                         for: head, keepAlive: keepAlive, context: context)
        }
        guard route.isPublic || isAuthorized(head, request) else {
            return write(.error(401, code: "unauthorized", message: "this window needs the read token: send Authorization: Bearer TOKEN",
                                headers: [("WWW-Authenticate", "Bearer")]), for: head, keepAlive: keepAlive, context: context)
        }
        let admitted = shared.inFlight.withLockedValue { count -> Bool in
            guard count < shared.limits.requestsInFlightMax else { return false }
            count += 1
            return true
        }
        guard admitted else {
            return write(.error(503, code: "busy", message: "too many requests in flight (the limit is \(shared.limits.requestsInFlightMax)); retry shortly",
                                headers: [("Retry-After", "1")]), for: head, keepAlive: keepAlive, context: context)
        }
        let handler = route.handler
        let inFlight = shared.inFlight
        shared.threadPool.runIfActive(eventLoop: context.eventLoop) { () -> WindowResponse in
            defer { inFlight.withLockedValue { $0 -= 1 } }
            do {
                return try handler(request)
            } catch {
                return .error(500, code: "internal", message: String("\(error)".prefix(300)))
            }
        }.assumeIsolated().whenComplete { result in
            let response: WindowResponse
            switch result {
            case .success(let value): response = value
            case .failure: response = .error(503, code: "stopping", message: "the server is stopping")
            }
            self.write(response, for: head, keepAlive: keepAlive, context: context)
        }
    }

    private func isAuthorized(_ head: HTTPRequestHead, _ request: WindowRequest) -> Bool {
        guard let token = shared.readToken else { return true }
        if let header = head.headers.first(name: "authorization"), header.hasPrefix("Bearer ") {
            return constantTimeEqual(Array(header.utf8.dropFirst(7)), token)
        }
        // The dashboard's address may carry ?token= (a browser cannot add a
        // header to a page it navigates to); the page then sends the header.
        if let query = request.query["token"] { return constantTimeEqual(Array(query.utf8), token) }
        return false
    }

    private func write(_ response: WindowResponse, for head: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD, !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        // A client that does not read its answer is cut after the write timeout.
        let channel = context.channel
        let timeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(shared.limits.responseWriteTimeoutMs))) {
            channel.close(promise: nil)
        }
        let requestGuard = self.requestGuard
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            timeout.cancel()
            guard case .success = result, keepAlive else {
                channel.close(promise: nil)
                return
            }
            requestGuard.responseFinished()
        }
    }
}

/// Compares without an early exit, so the time taken does not tell how
/// much of a guessed token was right.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices { difference |= a[i] ^ b[i] }
    return difference == 0
}
