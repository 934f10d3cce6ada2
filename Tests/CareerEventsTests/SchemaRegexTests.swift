import Foundation
import XCTest

@testable import CareerEvents

/// The `pattern` engine: ECMA-262 syntax (Unicode mode), unanchored search,
/// linear time. Every case runs through both matchers (DFA for ASCII input,
/// NFA for anything) and they must agree with the expected answer.
final class SchemaRegexTests: XCTestCase {
    static let cases: [(pattern: String, input: String, matches: Bool)] = [
        ("a+", "xxaayy", true), ("a+", "xyz", false), ("", "anything", true),
        ("^abc$", "abc", true), ("^abc$", "abcd", false), ("^abc$", "xabc", false), ("abc$", "xabc", true),
        ("^$", "", true), ("^$", "a", false), ("^a*$", "", true), ("^a*$", "aaa", true), ("^a*$", "aab", false),
        ("^[A-Z]{3}$", "EUR", true), ("^[A-Z]{3}$", "EU", false), ("^[A-Z]{3}$", "EURO", false), ("^[A-Z]{3}$", "eur", false),
        ("^[0-9]{4}-(0[1-9]|1[0-2])$", "2024-03", true), ("^[0-9]{4}-(0[1-9]|1[0-2])$", "2024-13", false),
        ("^[0-9]{4}-(0[1-9]|1[0-2])$", "2024-00", false), ("^[0-9]{4}-(0[1-9]|1[0-2])$", "2024-10", true),
        ("^a{2,3}$", "a", false), ("^a{2,3}$", "aa", true), ("^a{2,3}$", "aaa", true), ("^a{2,3}$", "aaaa", false),
        ("^a{2,}$", "aaaaa", true), ("^a{2,}$", "a", false), ("^(ab)+?$", "abab", true), ("^a??b$", "b", true),
        ("^(?:x|y)z$", "yz", true), ("^(?<name>x|y)z$", "xz", true), ("cat|dog", "hotdog", true), ("cat|dog", "bird", false),
        ("^[^abc]+$", "xyz", true), ("^[^abc]+$", "xaz", false), ("^[a-c-]+$", "a-b", true), ("^[\\-a]+$", "-a", true),
        ("^\\d+$", "123", true), ("^\\d+$", "12a", false), ("^\\D+$", "ab", true), ("^\\w+$", "a_1", true),
        ("^\\w+$", "a-1", false), ("^\\W$", "-", true), ("^\\s$", " ", true), ("^\\s$", "\u{00A0}", true),
        ("^\\S+$", "ab", true), ("^a.c$", "abc", true), ("^a.c$", "a\nc", false), ("^a.c$", "aéc", true),
        ("\\bfoo\\b", "a foo b", true), ("\\bfoo\\b", "afoob", false), ("\\Bfoo", "afoo", true),
        ("^\\x41\\u0042\\u{43}$", "ABC", true), ("^\\t\\n$", "\t\n", true), ("^\\.$", ".", true), ("^\\.$", "a", false),
        ("^\\p{Letter}+$", "Hello", true), ("^\\p{Letter}+$", "π", true), ("^\\p{Letter}+$", "123", false),
        ("^\\p{L}\\P{L}$", "a1", true), ("^\\p{Lu}$", "É", true), ("^\\p{Lu}$", "é", false),
        ("^[\\p{N}x]+$", "12x٣", true), ("^\\p{gc=Nd}+$", "٣4", true),
        ("^á", "ármányos", true), ("^á", "élmény", false), ("^.{3}$", "日本語", true), ("^.{3}$", "日本", false),
        ("^https?://[^\\s/?#]+[^\\s]*$", "https://github.com/ada", true),
        ("^https?://[^\\s/?#]+[^\\s]*$", "https:// x", false),
        ("^\\+?\\(?[0-9][0-9 ()./-]*[0-9]$", "+1 (555) 123-4567", true),
        ("^\\+?\\(?[0-9][0-9 ()./-]*[0-9]$", "call me", false),
        ("^[A-Za-z][A-Za-z0-9_+/-]*$", "America/Port-au-Prince", true),
        ("^(a|ab)(c|bcd)(d*)$", "abcd", true), ("(a*)*b", "aaaab", true), ("(a*)*b", "aaaa", false),
        ("^(|a)b$", "b", true), ("^(|a)b$", "ab", true), ("x*", "", true),
    ]

    func testCasesAgreeOnBothMatchers() throws {
        for c in Self.cases {
            let regex = try SchemaRegex(c.pattern)
            XCTAssertEqual(regex.matches(c.input), c.matches, "/\(c.pattern)/ on \(c.input.debugDescription)")
            XCTAssertEqual(regex.nfaMatches(c.input), c.matches, "NFA /\(c.pattern)/ on \(c.input.debugDescription)")
        }
    }

    /// The DFA and the NFA give the same answer on many random ASCII strings
    /// (a deterministic generator, so a failure reproduces).
    func testAutomatonAgreesWithNFAOnRandomStrings() throws {
        let patterns = [
            "^[0-9]{4}-(0[1-9]|1[0-2])$", "^\\+?\\(?[0-9][0-9 ()./-]*[0-9]$", "^https?://[^\\s/?#]+[^\\s]*$",
            "^[A-Z]{3}$", "a+b?c*$", "(ab|a)(bc|c)", "^(a|b)*abb$", "x{2,4}y", "^$|^a", "[^a-c]{2}$",
        ]
        let alphabet = Array("0123456789-+() ./abcxyAZ:/?#htps\t".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        var disagreements: [String] = []
        for pattern in patterns {
            let regex = try SchemaRegex(pattern)
            XCTAssertTrue(regex.hasASCIIAutomaton, pattern)
            for _ in 0..<2_000 {
                let length = next() % 14
                let text = String(decoding: (0..<length).map { _ in alphabet[next() % alphabet.count] }, as: UTF8.self)
                if regex.matches(text) != regex.nfaMatches(text) { disagreements.append("/\(pattern)/ \(text.debugDescription)") }
            }
            // Strings built from the pattern's own characters hit more edges.
            let own = Array(pattern.utf8)
            for _ in 0..<2_000 {
                let length = next() % 12
                let text = String(decoding: (0..<length).map { _ in own[next() % own.count] }, as: UTF8.self)
                if regex.matches(text) != regex.nfaMatches(text) { disagreements.append("/\(pattern)/ \(text.debugDescription)") }
            }
        }
        XCTAssertEqual(disagreements, [])
    }

    func testWordBoundaryPatternsUseTheNFA() throws {
        XCTAssertFalse(try SchemaRegex("\\bfoo").hasASCIIAutomaton)
        XCTAssertTrue(try SchemaRegex("^[A-Z]{3}$").hasASCIIAutomaton)
    }

    func testUnsupportedOrInvalidSyntaxIsRejected() {
        let bad: [(String, String)] = [
            ("(?=a)", "lookaround"), ("(?!a)", "lookaround"), ("(?<=a)b", "lookaround"), ("(?<!a)b", "lookaround"),
            ("(a)\\1", "backreferences"), ("\\k<x>", "backreferences"), ("\\q", "unknown escape"), ("(a", "missing ')'"),
            ("a)", "unmatched ')'"), ("[a", "missing ']'"), ("*a", "nothing to repeat"), ("a**", "nothing to repeat"),
            ("a{2,1}", "out of order"), ("a{", "bad quantifier"), ("[z-a]", "out of order"), ("\\p{Klingon}", "unsupported Unicode property"),
            ("(a{1,100}){1,100}", "instructions"), ("\\", "ends with"), ("^*", "cannot be repeated"), ("\\012", "octal"),
        ]
        for (pattern, fragment) in bad {
            XCTAssertThrowsError(try SchemaRegex(pattern), pattern) { error in
                let text = (error as? SchemaRegexError)?.description ?? ""
                XCTAssertTrue(text.contains(fragment), "\(pattern): \(text)")
                XCTAssertTrue(text.hasPrefix("pattern \(pattern):"), "\(pattern): \(text)")
            }
        }
    }

    /// Catastrophic backtracking patterns take linear time here.
    func testPathologicalPatternsRunInLinearTime() throws {
        let regex = try SchemaRegex("^(a+)+$")
        let input = String(repeating: "a", count: 5_000) + "b"
        let start = Date()
        XCTAssertFalse(regex.matches(input))
        XCTAssertFalse(regex.nfaMatches(input + "é"))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0)
    }

    /// Every pattern in EventSchemas/ compiles to a DFA, so ASCII values
    /// never take the slower NFA path on ingest.
    func testEventSchemaPatternsHaveAnAutomaton() throws {
        let directory = try CatalogTests.schemaDirectory()
        var patterns: [String] = []
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let object):
                for member in object.members {
                    if member.key == "pattern", case .string(let p) = member.value { patterns.append(p) }
                    collect(member.value)
                }
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            collect(try JSONParser.parse([UInt8](data)))
        }
        XCTAssertGreaterThanOrEqual(Set(patterns).count, 6)
        for pattern in Set(patterns) {
            XCTAssertTrue(try SchemaRegex(pattern).hasASCIIAutomaton, pattern)
        }
    }
}
