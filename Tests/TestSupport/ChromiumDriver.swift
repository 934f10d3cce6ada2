import Foundation

/// A real headless Chromium (Debian's), driven over the DevTools protocol
/// by Helpers/cdp_driver.py.
public final class ChromiumDriver {
    private let process = Process()
    private let artefacts: URL
    /// Helpers/cdp_driver.py of WindowTests, found from this file.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("WindowTests/Helpers/cdp_driver.py")
    private let input = Pipe()
    private let output = Pipe()
    private var buffered = Data()

    /// Starts Chromium; `artefacts` is where screenshots go.
    public init(artefacts: URL) throws {
        self.artefacts = artefacts
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script.path]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let ready = try readAnswer()
        guard ready["ok"] as? Bool == true else { throw DriverError(message: "chromium did not start: \(ready)") }
    }

    deinit {
        try? input.fileHandleForWriting.write(contentsOf: Data(#"{"cmd":"quit"}"#.utf8 + [10]))
        process.waitUntilExit()
    }

    public struct DriverError: Error, CustomStringConvertible { public var message: String; public var description: String { message } }

    /// Sends one command; returns its value or throws its error.
    @discardableResult
    public func send(_ command: [String: Any]) throws -> Any? {
        try input.fileHandleForWriting.write(contentsOf: try JSONSerialization.data(withJSONObject: command) + [10])
        let answer = try readAnswer()
        guard answer["ok"] as? Bool == true else { throw DriverError(message: "\(command["cmd"] ?? "?"): \(answer["error"] ?? answer)") }
        return answer["value"]
    }

    public func navigate(_ url: String) throws { try send(["cmd": "navigate", "url": url]) }
    public func evaluate(_ expression: String) throws -> Any? { try send(["cmd": "eval", "expr": expression]) }
    @discardableResult
    public func wait(_ expression: String, timeoutMs: Int = 20_000) throws -> Any? { try send(["cmd": "wait", "expr": expression, "timeout_ms": timeoutMs]) }
    public func errors() throws -> [String] { try send(["cmd": "errors"]) as? [String] ?? [] }
    public func requests() throws -> [String] { try send(["cmd": "requests"]) as? [String] ?? [] }
    public func screenshot(_ name: String) throws { try send(["cmd": "screenshot", "path": artefacts.appendingPathComponent(name).path]) }

    private func readAnswer() throws -> [String: Any] {
        while true {
            if let newline = buffered.firstIndex(of: 10) {
                let line = buffered[..<newline]
                buffered = Data(buffered[buffered.index(after: newline)...])
                guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else { throw DriverError(message: "bad answer") }
                return object
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw DriverError(message: "the DevTools driver exited (is chromium installed? Tools/setup.sh)") }
            buffered.append(chunk)
        }
    }
}

