import XCTest

@testable import CareerEvents

/// Reference resolution (RFC 3986 section 5.4) and JSON Pointer fragments,
/// which `$id` and `$ref` rely on.
final class SchemaURITests: XCTestCase {
    func testRFC3986NormalExamples() {
        let base = SchemaURI(parsing: "http://a/b/c/d;p?q")
        let examples: [(String, String)] = [
            ("g:h", "g:h"), ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"), ("//g", "http://g"), ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"), ("g#s", "http://a/b/c/g#s"), ("g?y#s", "http://a/b/c/g?y#s"),
            (";x", "http://a/b/c/;x"), ("g;x", "http://a/b/c/g;x"), ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"), ("..", "http://a/b/"), ("../", "http://a/b/"), ("../g", "http://a/b/g"),
            ("../..", "http://a/"), ("../../", "http://a/"), ("../../g", "http://a/g"), ("../../../g", "http://a/g"),
        ]
        for (reference, expected) in examples {
            XCTAssertEqual(base.resolving(reference).description, expected, reference)
        }
    }

    func testEventSchemaRefsReachDefs() {
        let base = SchemaURI(parsing: "https://careerlog.dev/schemas/skill.assessed/1")
        XCTAssertEqual(base.resolving("../defs.json#/$defs/uuid").description,
                       "https://careerlog.dev/schemas/defs.json#/$defs/uuid")
        XCTAssertEqual(SchemaURI(parsing: "urn:uuid:deadbeef-1234#/a").resolving("#b").description, "urn:uuid:deadbeef-1234#b")
    }

    func testJSONPointerFragments() {
        XCTAssertEqual(JSONPointer.tokens(fromFragment: ""), [])
        XCTAssertEqual(JSONPointer.tokens(fromFragment: "/$defs/a~1b~0c"), ["$defs", "a/b~c"])
        XCTAssertEqual(JSONPointer.tokens(fromFragment: "/$defs/percent%25field"), ["$defs", "percent%field"])
        XCTAssertEqual(JSONPointer.tokens(fromFragment: "/$defs//$defs/"), ["$defs", "", "$defs", ""])
        XCTAssertNil(JSONPointer.tokens(fromFragment: "anchor"))
        XCTAssertNil(JSONPointer.tokens(fromFragment: "/bad%zz"))
        XCTAssertEqual(JSONPointer.string(["a/b", "c~d"]), "/a~1b/c~0d")
        let doc: JSONValue = ["a": [10, ["b": true]]]
        XCTAssertEqual(JSONPointer.resolve(["a", "1", "b"], in: doc), true)
        XCTAssertNil(JSONPointer.resolve(["a", "01"], in: doc))
        XCTAssertNil(JSONPointer.resolve(["a", "2"], in: doc))
    }
}
