import Foundation
import XCTest

/// Waits for `condition` itself (never a fixed sleep), polling every 2 ms.
/// Returns whether it held; when `timeout` passes first, the calling test
/// fails with "timed out waiting until <what>".
@discardableResult
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), file: StaticString = #filePath, line: UInt = #line,
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        if ContinuousClock.now > deadline {
            XCTFail("timed out waiting until \(what)", file: file, line: line)
            return false
        }
        usleep(2_000)
    }
    return true
}
