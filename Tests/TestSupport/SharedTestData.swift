import Foundation
import XCTest

/// The public conformance suites (JSON parsing, JSON Schema, times) that live
/// in `../shared/testdata/` beside the package root, not in the repository.
///
/// Where they are missing a test cannot check anything, so:
/// - with `CAREERLOG_REQUIRE_SHARED_TESTDATA=1` (set by `.ci/run`) a missing
///   suite is a failure: CI must never go green on tests that did not run;
/// - elsewhere (a clone without `shared/`) the test is skipped, and the skip
///   names the path it looked for; XCTest's summary counts the skips and
///   `Tools/test.sh` repeats that count on its last line.
public enum SharedTestData {
    /// The environment variable that turns a missing suite into a failure.
    public static let requiredVariable = "CAREERLOG_REQUIRE_SHARED_TESTDATA"

    public struct Missing: Error, CustomStringConvertible {
        public let relative: String
        public let searched: [String]
        public var description: String {
            "shared test data '\(relative)' not found (looked in \(searched.joined(separator: ", "))); "
                + "\(SharedTestData.requiredVariable)=1 makes this a failure"
        }
    }

    /// `shared/testdata/<relative>`, found from the package root (three
    /// levels above a file in `Tests/<Target>/`, with and without symlinks
    /// resolved) or from the current directory.
    public static func folder(_ relative: String, file: StaticString = #filePath) throws -> URL {
        let candidates = candidatePaths(relative, file: "\(file)")
        for candidate in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return URL(fileURLWithPath: candidate)
            }
        }
        let missing = Missing(relative: relative, searched: candidates)
        if ProcessInfo.processInfo.environment[requiredVariable] == "1" { throw missing }
        throw XCTSkip(missing.description)
    }

    static func candidatePaths(_ relative: String, file: String) -> [String] {
        let source = URL(fileURLWithPath: file)
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let roots: [URL] = [
            source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent(),
            source.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent(),
            cwd, cwd.resolvingSymlinksInPath(),
        ]
        var seen = Set<String>()
        return roots.map { $0.deletingLastPathComponent().appendingPathComponent("shared/testdata/" + relative).standardizedFileURL.path }
            .filter { seen.insert($0).inserted }
    }
}
