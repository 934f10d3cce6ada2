import Foundation
import TestSupport
import XCTest

@testable import CareerEvents

final class JSONParserTests: XCTestCase {
    // MARK: JSONTestSuite (nst/JSONTestSuite)

    func testJSONTestSuiteAcceptsEveryYAndRejectsEveryN() throws {
        let folder = try SharedTestData.folder("json-parsing")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertGreaterThan(names.count, 300, "JSONTestSuite looks incomplete at \(folder.path)")
        var accepted = 0
        var rejected = 0
        for name in names where name.hasPrefix("y_") || name.hasPrefix("n_") {
            let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
            let outcome = Result { () throws(JSONParseError) in try JSONParser.parse(bytes) }
            if Self.duplicateKeyCases.contains(name) {
                // RFC 8259 only says keys SHOULD be unique, so the suite calls
                // these valid; the event catalog rejects them on purpose.
                guard case .failure(let error) = outcome else { XCTFail("\(name) must be rejected"); continue }
                XCTAssertEqual(error.reason, #"duplicate key "a""#, name)
                continue
            }
            switch (name.hasPrefix("y_"), outcome) {
            case (true, .success): accepted += 1
            case (false, .failure(let error)):
                XCTAssert(error.offset >= 0 && error.offset <= bytes.count, "\(name): offset \(error.offset) out of range")
                rejected += 1
            case (true, .failure(let error)): XCTFail("\(name) must be accepted, got \(error)")
            case (false, .success(let value)): XCTFail("\(name) must be rejected, got \(value.compactString)")
            }
        }
        XCTAssertEqual(accepted, 93)
        XCTAssertEqual(rejected, 188)
    }

    /// The only `y_` files rejected: they repeat a key.
    private static let duplicateKeyCases: Set<String> = [
        "y_object_duplicated_key.json", "y_object_duplicated_key_and_value.json",
    ]

    /// The RFC leaves these open; each outcome here is a decision (see
    /// JSONParser's doc comment), pinned so it cannot drift.
    func testJSONTestSuiteImplementationDefinedCases() throws {
        let folder = try SharedTestData.folder("json-parsing")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("i_") }.sorted()
        XCTAssertEqual(names.count, 35)
        for name in names {
            let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
            let accepted = (try? JSONParser.parse(bytes)) != nil
            // Numbers are kept as lexemes, so size never matters; everything
            // else here is a lone surrogate, bad UTF-8, UTF-16, a BOM, or
            // 500 levels of nesting (over the default depthMax of 64).
            XCTAssertEqual(accepted, name.hasPrefix("i_number_"), name)
        }
        let nested = try [UInt8](Data(contentsOf: folder.appendingPathComponent("i_structure_500_nested_arrays.json")))
        // Even at the highest allowed limit, 500 levels are too deep.
        XCTAssertEqual(JSONParseLimits.depthCeiling, 128)
        XCTAssertEqual(parseError(nested, limits: JSONParseLimits(depthMax: 128))?.description,
                       "at byte 128: nesting deeper than 128 levels")
        var beyondCeiling = JSONParseLimits()
        beyondCeiling.depthMax = 1_000  // set directly, past the init's check: clamped
        XCTAssertEqual(parseError(nested, limits: beyondCeiling)?.offset, 128)
    }

    // MARK: Exact behaviour

    func testParsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a":[1,-2.5e+3,true,false,null,"x"],"b":{}} "#)
        XCTAssertEqual(value, [
            "a": [1, .number(JSONNumber(text: "-2.5e+3")), true, false, nil, "x"],
            "b": .object(JSONObject()),
        ])
        XCTAssertEqual(value.objectValue?.keys, ["a", "b"])
    }

    func testNumbersKeepTheirLexeme() throws {
        let texts = ["0", "-0", "1.0", "1.50", "1e2", "1E+02", "-0.000e-0", "123456789012345678901234567890", "1e400"]
        for text in texts {
            let value = try JSONParser.parse(text)
            XCTAssertEqual(value.numberValue?.text, text)
            XCTAssertEqual(value.compactString, text)
        }
        XCTAssertEqual(try JSONParser.parse("[1.0]").arrayValue?.first?.numberValue?.int64, 1)
    }

    func testRejectsMalformedNumbers() {
        for text in ["01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5.2", "--1", "- 1"] {
            XCTAssertThrowsError(try JSONParser.parse(text), text)
        }
    }

    func testRejectsNaNAndInfinity() {
        for text in ["NaN", "Infinity", "-Infinity", "[NaN]"] {
            XCTAssertEqual(parseError(text)?.reason, "NaN and Infinity are not JSON", text)
        }
    }

    func testRejectsDuplicateKeysNamingTheKey() {
        let error = parseError(#"{"level":"beginner","score":3,"level":"expert"}"#)
        XCTAssertEqual(error?.reason, #"duplicate key "level""#)
        XCTAssertEqual(error?.offset, 30)
        XCTAssertEqual(error?.description, #"at byte 30: duplicate key "level""#)
        // Escapes do not hide a repeat: "\u0061" is "a".
        XCTAssertEqual(parseError(#"{"a":1,"\u0061":2}"#)?.reason, #"duplicate key "a""#)
        // Nested objects are checked too; equal keys in sibling objects are fine.
        XCTAssertNotNil(parseError(#"{"x":{"k":1,"k":2}}"#))
        XCTAssertNoThrow(try JSONParser.parse(#"[{"k":1},{"k":2}]"#))
    }

    func testDuplicateKeysInLargeObjectsUseTheSetPath() throws {
        let keys = (0..<100).map { "\"k\($0)\":\($0)" }
        XCTAssertEqual(try JSONParser.parse("{" + keys.joined(separator: ",") + "}").objectValue?.count, 100)
        let repeated = parseError("{" + keys.joined(separator: ",") + #","k7":0}"#)
        XCTAssertEqual(repeated?.reason, #"duplicate key "k7""#)
        let repeatedEarly = parseError("{" + keys.prefix(20).joined(separator: ",") + #","k19":0,"k0":1}"#)
        XCTAssertEqual(repeatedEarly?.reason, #"duplicate key "k19""#)
    }

    func testDepthLimit() throws {
        let limits = JSONParseLimits(depthMax: 3)
        XCTAssertNoThrow(try JSONParser.parse("[[[]]]", limits: limits))
        XCTAssertNoThrow(try JSONParser.parse(#"{"a":{"b":[1]}}"#, limits: limits))
        let error = parseError("[[[[]]]]", limits: limits)
        XCTAssertEqual(error?.offset, 3)
        XCTAssertEqual(error?.reason, "nesting deeper than 3 levels")
        XCTAssertEqual(error?.exceedsLimit, true)
        XCTAssertEqual(parseError(#"{"a":{"b":{"c":{}}}}"#, limits: limits)?.exceedsLimit, true)
        XCTAssertEqual(parseError("[1,]")?.exceedsLimit, false)
    }

    func testHundredThousandLevelsFailCleanly() {
        let open = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        XCTAssertEqual(parseError(open)?.offset, 64)
        XCTAssertEqual(parseError(open + [UInt8](repeating: UInt8(ascii: "]"), count: 100_000))?.offset, 64)
        let objects = [UInt8](String(repeating: #"{"a":"#, count: 100_000).utf8)
        XCTAssertEqual(parseError(objects)?.exceedsLimit, true)
    }

    /// `depthCeiling` levels must fit the smallest thread stack the server
    /// uses (512 KiB); a debug build has the largest frames, so this is the
    /// strict case.
    func testDepthCeilingFitsInASmallThreadStack() {
        let depth = JSONParseLimits.depthCeiling
        let text = String(repeating: #"{"a":["#, count: depth / 2) + "1" + String(repeating: "]}", count: depth / 2)
        let finished = expectation(description: "parsed on a 512 KiB stack")
        let box = ResultBox()
        let thread = Thread {
            box.depth = (try? JSONParser.parse(text, limits: JSONParseLimits(depthMax: depth))).map { _ in depth }
            finished.fulfill()
        }
        thread.stackSize = 512 * 1024
        thread.start()
        wait(for: [finished], timeout: 30)
        XCTAssertEqual(box.depth, depth)
    }

    private final class ResultBox: @unchecked Sendable {
        var depth: Int?  // written by the thread before `fulfill`, read after `wait`
    }

    func testRoundTripThroughCompactWriter() throws {
        let text = #"""
        { "id" : "a\"b\\c\/d" , "n" : [ 1.50 , -0 , 2e-3 ],
          "s": "tab\there \u00e9\u20ac\ud83d\ude00 \u0000\u001f", "o": {"z": null, "a": [true, {}]} }
        """#
        let value = try JSONParser.parse(text)
        let compact = value.compactString
        XCTAssertEqual(compact, #"{"id":"a\"b\\c/d","n":[1.50,-0,2e-3],"s":"tab\there é€😀 \u0000\u001f","o":{"z":null,"a":[true,{}]}}"#)
        let again = try JSONParser.parse(compact)
        XCTAssertEqual(again, value)
        XCTAssertEqual(again.compactString, compact)
        XCTAssertEqual(again.objectValue?.keys, ["id", "n", "s", "o"])
        XCTAssertEqual(again.objectValue?["o"]?.objectValue?.keys, ["z", "a"])
    }

    func testEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try JSONParser.parse(#""\"\\\/\b\f\n\r\t""#).stringValue, "\"\\/\u{8}\u{C}\n\r\t")
        XCTAssertEqual(try JSONParser.parse(#""\u0041\u00E9\u20AC""#).stringValue, "Aé€")
        XCTAssertEqual(try JSONParser.parse(#""\uD834\uDD1E""#).stringValue, "\u{1D11E}")
        XCTAssertEqual(try JSONParser.parse(#""x\ud83d\ude00y""#).stringValue, "x😀y")
        XCTAssertEqual(try JSONParser.parse(#""\u0000""#).stringValue, "\u{0}")
        XCTAssertEqual(try JSONParser.parse("\"h\u{e9}llo \u{1F600}\"").stringValue, "héllo 😀")

        XCTAssertEqual(parseError(#""\uD800""#)?.reason, #"lone high surrogate \uD800 in string"#)
        XCTAssertEqual(parseError(#""\uD800\u0041""#)?.reason, #"lone high surrogate \uD800 in string"#)
        XCTAssertEqual(parseError(#""\uDC00""#)?.reason, #"lone low surrogate \uDC00 in string"#)
        XCTAssertEqual(parseError(#""\u12""#)?.reason, "incomplete \\u escape in string")
        XCTAssertEqual(parseError(#""\u12G4""#)?.reason, "invalid \\u escape in string, expected 4 hex digits")
        XCTAssertEqual(parseError(#""\x""#)?.reason, "invalid escape \\x in string")
        XCTAssertEqual(parseError("\"a\u{1}\"")?.reason, "unescaped control character 0x01 in string")
    }

    /// Strings are scanned 8 bytes at a time; put each kind of special byte
    /// at every position of a word, and past the last whole word.
    func testSpecialBytesAtEveryPositionOfTheWordScan() throws {
        for length in 0..<20 {
            for position in 0...length {
                let before = String(repeating: "a", count: position)
                let after = String(repeating: "b", count: length - position)
                let cases: [(json: String, decoded: String)] = [
                    ("\"" + before + "\\n" + after + "\"", before + "\n" + after),
                    ("\"" + before + "\\\"" + after + "\"", before + "\"" + after),
                    ("\"" + before + "\u{E9}" + after + "\"", before + "\u{E9}" + after),
                    ("\"" + before + after + "\"", before + after),
                ]
                for (json, decoded) in cases {
                    XCTAssertEqual(try JSONParser.parse(json).stringValue, decoded, json)
                    XCTAssertEqual(try JSONParser.parse("{" + json + ":0}").objectValue?.keys, [decoded], json)
                }
                let control = Array(("\"" + before + "\u{1}" + after + "\"").utf8)
                XCTAssertEqual(parseError(control)?.offset, 1 + position)
                let unterminated = Array(("\"" + before + after).utf8)
                XCTAssertEqual(parseError(unterminated)?.reason, "unterminated string")
                let badUTF8 = Array(("\"" + before).utf8) + [0xFF] + Array((after + "\"").utf8)
                XCTAssertEqual(parseError(badUTF8)?.offset, 1 + position)
            }
        }
        // Bytes 0x20 (space) and 0x7F (DEL) are plain; 0x1F is not.
        let plain = "\"" + String(repeating: " ", count: 8) + String(repeating: "\u{7F}", count: 8) + "\""
        XCTAssertEqual(try JSONParser.parse(plain).stringValue?.utf8.count, 16)
        XCTAssertEqual(parseError("\"        \u{1F}       \"")?.offset, 9)
    }

    func testDuplicateKeysByFingerprintAndByString() {
        // Keys of every length around the 8- and 16-byte fingerprint limits.
        for length in 1...20 {
            let key = String(repeating: "k", count: length - 1) + "z"
            let other = String(repeating: "k", count: length)
            XCTAssertNoThrow(try JSONParser.parse("{\"\(key)\":1,\"\(other)\":2}"), key)
            XCTAssertEqual(parseError("{\"\(key)\":1,\"\(other)\":2,\"\(key)\":3}")?.reason, "duplicate key \"\(key)\"")
        }
        // A prefix is not a repeat; an escaped spelling is.
        XCTAssertNoThrow(try JSONParser.parse(#"{"abcdefgh":1,"abcdefghi":2,"abcdefg":3}"#))
        XCTAssertNotNil(parseError(#"{"abcdefghij":1,"abcdefgh\u0069j":2}"#))
        // Non-ASCII keys compare as Swift strings: canonically equivalent spellings repeat.
        XCTAssertNotNil(parseError(#"{"caf\u00e9":1,"cafe\u0301":2}"#))
        XCTAssertNotNil(parseError("{\"caf\u{E9}\":1,\"cafe\u{301}\":2}"))
        XCTAssertNotNil(parseError("{\"K\":1,\"\u{212A}\":2}"))  // KELVIN SIGN is K
        XCTAssertNoThrow(try JSONParser.parse("{\"caf\u{E9}\":1,\"cafe\":2}"))
        // Nested objects keep their own key sets.
        XCTAssertNoThrow(try JSONParser.parse(#"{"a":{"a":{"a":1},"b":2},"b":{"a":3}}"#))
        XCTAssertEqual(parseError(#"{"a":{"b":1},"c":{"d":2},"a":3}"#)?.reason, #"duplicate key "a""#)
    }

    func testRejectsInvalidUTF8WithOffset() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate U+D800
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xE2, 0x82, 0x22],  // truncated
        ]
        for bytes in cases {
            let error = parseError(bytes)
            XCTAssertEqual(error?.reason, "invalid UTF-8 in string", "\(bytes)")
            XCTAssertEqual(error?.offset, 1, "\(bytes)")
        }
    }

    func testErrorsNameTheProblemAndOffset() {
        XCTAssertEqual(parseError(#"{"a":"bc"#)?.description, "at byte 5: unterminated string")
        XCTAssertEqual(parseError("")?.reason, "empty input, expected a JSON value")
        XCTAssertEqual(parseError("  ")?.description, "at byte 2: unexpected end of input, expected a value")
        XCTAssertEqual(parseError("{} x")?.description, "at byte 3: unexpected 'x' after the JSON value")
        XCTAssertEqual(parseError("[1 2]")?.description, "at byte 3: unexpected '2' in array, expected ',' or ']'")
        XCTAssertEqual(parseError(#"{"a" 1}"#)?.description, "at byte 5: unexpected '1' after object key, expected ':'")
        XCTAssertEqual(parseError(#"{"a":1,}"#)?.description, "at byte 7: unexpected '}' in object, expected a string key")
        XCTAssertEqual(parseError("[tru]")?.description, "at byte 4: invalid literal, expected true")
        XCTAssertEqual(parseError([0xEF, 0xBB, 0xBF, 0x7B, 0x7D])?.description, "at byte 0: byte order mark is not allowed")
        XCTAssertEqual(parseError("{}\u{0}")?.description, "at byte 2: unexpected byte 0x00 after the JSON value")
    }

    func testWhitespaceIsOnlyTheFourJSONCharacters() {
        XCTAssertNoThrow(try JSONParser.parse(" \t\r\n[ \t\r\n1 \t\r\n] \t\r\n"))
        XCTAssertNotNil(parseError("[1]\u{0C}"))  // form feed
        XCTAssertNotNil(parseError("\u{A0}[1]"))  // no-break space
    }

    func testParsesFromEveryInputKind() throws {
        let text = #"{"k":[1,"v"]}"#
        let fromString = try JSONParser.parse(text)
        XCTAssertEqual(try JSONParser.parse(Array(text.utf8)), fromString)
        let fromRaw = try Array(text.utf8).withUnsafeBytes { raw in try JSONParser.parse(raw) }
        XCTAssertEqual(fromRaw, fromString)
        // A buffer that is a slice of a larger one: nothing past its end is read.
        let bigger = Array(#"[1]]]]"#.utf8)
        let sliced = try bigger.withUnsafeBytes { raw in
            try JSONParser.parse(UnsafeRawBufferPointer(rebasing: raw[0..<3]))
        }
        XCTAssertEqual(sliced, [1])
    }

    func testWriterEscapesWhatJSONRequires() {
        let value: JSONValue = .string("q\" b\\ \n\r\t\u{8}\u{C} \u{1}\u{1F} é /")
        XCTAssertEqual(value.compactString, #""q\" b\\ \n\r\t\b\f \u0001\u001f é /""#)
    }

    // MARK: Helpers

    private func parseError(_ text: String, limits: JSONParseLimits = .init()) -> JSONParseError? {
        parseError(Array(text.utf8), limits: limits)
    }

    private func parseError(_ bytes: [UInt8], limits: JSONParseLimits = .init()) -> JSONParseError? {
        do {
            let value = try JSONParser.parse(bytes, limits: limits)
            XCTFail("expected a parse error, got \(value.compactString)")
            return nil
        } catch {
            return error
        }
    }
}

