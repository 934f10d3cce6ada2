import CareerEvents

/// Walks the parsed producers file and turns each entry into a `Producer`,
/// naming the exact JSON path of the first problem.
struct EntryReader {
    let path: String

    init(path: String) {
        self.path = path
    }

    private func fail(_ location: String, _ reason: String) -> ProducersFileError {
        ProducersFileError(path: path, location: location, reason: reason)
    }

    mutating func readFile(_ root: JSONValue) throws(ProducersFileError) -> [Producer] {
        guard case .object(let object) = root else {
            throw fail("", "must be a JSON object with a \"producers\" list")
        }
        for key in object.keys where key != "producers" {
            throw fail(key, "unknown key; the file has only \"producers\"")
        }
        guard let list = object["producers"] else { throw fail("producers", "is missing; list the producers there") }
        guard case .array(let entries) = list else { throw fail("producers", "must be a list of producers") }
        guard entries.count <= ProducerRegistry.producersMax else {
            throw fail("producers", "lists \(entries.count) producers; at most \(ProducerRegistry.producersMax) are allowed")
        }
        var producers: [Producer] = []
        producers.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            producers.append(try readProducer(entry, at: "producers[\(i)]"))
        }
        return producers
    }

    private static let keys: Set<String> = ["name", "comment", "token_sha256", "certificate", "unix_uid", "sources", "types"]

    private func readProducer(_ value: JSONValue, at here: String) throws(ProducersFileError) -> Producer {
        guard case .object(let entry) = value else { throw fail(here, "must be an object with name, a proof, sources and types") }
        for key in entry.keys where !Self.keys.contains(key) {
            throw fail("\(here).\(key)", "unknown key; a producer has name, comment, token_sha256, certificate, unix_uid, sources and types")
        }
        let name = try readName(entry["name"], at: "\(here).name")
        if let comment = entry["comment"] {
            guard case .string(let text) = comment, text.utf8.count <= ProducerRegistry.commentBytesMax else {
                throw fail("\(here).comment", "must be a string of at most \(ProducerRegistry.commentBytesMax) bytes")
            }
        }
        let token = try entry["token_sha256"].map { v throws(ProducersFileError) in try readTokenHash(v, at: "\(here).token_sha256") }
        let certificate = try entry["certificate"].map { v throws(ProducersFileError) in try readCertificate(v, at: "\(here).certificate") }
        let uid = try entry["unix_uid"].map { v throws(ProducersFileError) in try readUID(v, at: "\(here).unix_uid") }
        guard token != nil || certificate != nil || uid != nil else {
            throw fail(here, "producer \(name) has no way to prove who it is; give token_sha256, certificate or unix_uid")
        }
        let sources = try readPatterns(entry["sources"], at: "\(here).sources", isType: false)
        let types = try readPatterns(entry["types"], at: "\(here).types", isType: true)
        return Producer(name: name, tokenSHA256: token, certificate: certificate, unixUID: uid, sources: sources, types: types)
    }

    private func readName(_ value: JSONValue?, at here: String) throws(ProducersFileError) -> String {
        guard let value else { throw fail(here, "is missing; every producer needs a name") }
        guard case .string(let name) = value, Self.isProducerName(name) else {
            throw fail(here, "must be \(ProducerName.rule)")
        }
        return name
    }

    /// `[a-z0-9][a-z0-9._-]{0,63}`: safe in log lines, messages and the
    /// log's producer table without escaping. The rule lives in
    /// `ProducerName`, shared with `replay --producer`.
    static func isProducerName(_ name: String) -> Bool {
        ProducerName.isValid(name)
    }

    private func readTokenHash(_ value: JSONValue, at here: String) throws(ProducersFileError) -> String {
        guard case .string(let text) = value else { throw fail(here, "must be a string of 64 hex digits") }
        let hex = text.lowercased()
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw fail(here, "must be the SHA-256 of the token as 64 hex digits (`careerlog producers token` prints one)")
        }
        return hex
    }

    private func readCertificate(_ value: JSONValue, at here: String) throws(ProducersFileError) -> CertificateName {
        guard case .string(let text) = value, text.utf8.count <= ProducerRegistry.patternBytesMax,
              let name = CertificateName(parsing: text) else {
            throw fail(here, "must be CN=<common name>, DNS:<name>, URI:<uri> or email:<address> of the client certificate")
        }
        return name
    }

    private func readUID(_ value: JSONValue, at here: String) throws(ProducersFileError) -> UInt32 {
        guard case .number(let number) = value, let uid = number.int64, uid >= 0, uid < Int64(UInt32.max) else {
            throw fail(here, "must be a uid, an integer from 0 to \(UInt32.max - 1)")
        }
        return UInt32(uid)
    }

    private func readPatterns(_ value: JSONValue?, at here: String, isType: Bool) throws(ProducersFileError) -> [ProducerPattern] {
        let what = isType ? "event types" : "source values"
        guard let value else { throw fail(here, "is missing; list the \(what) this producer may write (\"*\" for any)") }
        guard case .array(let items) = value, !items.isEmpty, items.count <= ProducerRegistry.patternsMax else {
            throw fail(here, "must be a list of 1 to \(ProducerRegistry.patternsMax) \(what) or patterns")
        }
        var patterns: [ProducerPattern] = []
        for (i, item) in items.enumerated() {
            guard case .string(let text) = item, !text.isEmpty, text.utf8.count <= ProducerRegistry.patternBytesMax else {
                throw fail("\(here)[\(i)]", "must be a non-empty string of at most \(ProducerRegistry.patternBytesMax) bytes")
            }
            if isType, !text.utf8.allSatisfy(Self.isTypePatternByte) {
                throw fail("\(here)[\(i)]", "an event type pattern holds only a-z, 0-9, '_', '.', '*' and '?' (such as application.*)")
            }
            patterns.append(ProducerPattern(text))
        }
        return patterns
    }

    private static func isTypePatternByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2E || b == 0x2A || b == 0x3F
    }
}
