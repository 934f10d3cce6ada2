import CareerEvents

/// The one JSON string writer of every careerlog output (replay lines, ack
/// lines, status, analytics, summaries). The escaping itself lives in
/// `JSONValue.writeString`, under the JSON values it also serializes; this
/// is the name every printer calls. Quotes, backslash and controls
/// U+0000...U+001F are escaped (`\n \r \t \b \f`, else `\u00XX`);
/// everything else, U+2028 and U+2029 included, is written as UTF-8.
///
/// Hot-path writers with their own fast variant (`RecordJSON`) are held to
/// byte equality with it by a test over every Unicode scalar.
public enum JSONString {
    /// Appends `text` as a JSON string, quotes included.
    public static func append(_ text: String, to out: inout [UInt8]) {
        JSONValue.writeString(text, into: &out)
    }

    /// `text` as a JSON string, quotes included.
    public static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        append(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `text` as a JSON string, or `null` for no value.
    public static func quotedOrNull(_ text: String?) -> String {
        text.map(quoted) ?? "null"
    }
}

/// The one CSV field writer (RFC 4180) of every careerlog output: replay
/// CSV and analytics CSV.
public enum CSVField {
    /// Appends `bytes` as a field: as is when it holds no comma, double
    /// quote, CR or LF; else in double quotes with its quotes doubled.
    public static func append(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        let needsQuotes = bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }
        guard needsQuotes else {
            out.append(contentsOf: bytes)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `text` as a field (see `append`).
    public static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        append(text.utf8, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
