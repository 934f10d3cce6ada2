/// The regular expressions of JSON Schema's `pattern` and `patternProperties`:
/// ECMA-262 syntax in Unicode mode, matched without anchoring ("a+" matches
/// "xxaayy"), compiled once when a schema loads.
///
/// Matching never backtracks, so time is linear in the string whatever the
/// input (a backtracking engine would let a crafted string take exponential
/// time, ReDoS, and the strings here come from producers):
///
/// - ASCII strings run through a DFA built when the pattern loads (one table
///   lookup per byte), when the pattern has no `\b`/`\B` and its DFA stays
///   under `dfaStatesMax` states, as every event-schema pattern does;
/// - anything else simulates the compiled NFA over Unicode scalars
///   (Thompson's construction, all threads in lock step), O(pattern size x
///   string length).
///
/// Supported: literals, `.`, `[...]` / `[^...]` with ranges, `\d \D \w \W \s
/// \S`, `\p{...}` / `\P{...}` (general categories and a few binary
/// properties), `\t \n \v \f \r \0 \cX \xHH \uHHHH \u{H...}`, escaped syntax
/// characters, `^ $ \b \B`, groups `(...)` `(?:...)` `(?<name>...)`,
/// alternation, and the quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy:
/// the same for a yes/no match). Rejected with a clear error when the schema
/// loads: lookaround, backreferences, and patterns that compile to more than
/// `instructionsMax` instructions.
final class SchemaRegex: Sendable {
    /// The pattern as written in the schema (for messages).
    let source: String

    /// Bounds the DFA built at load (states x ASCII classes x 2 bytes).
    static let dfaStatesMax = 256

    /// Bounds the compiled program, so a `{1,100000}` cannot make every match
    /// slow or use unbounded memory. The patterns an event schema needs
    /// compile to under a hundred instructions.
    static let instructionsMax = 4_096

    fileprivate let program: [RegexInstruction]
    fileprivate let classes: [ScalarClass]
    /// The pattern starts with `^` on every path, so a search need not start a
    /// new thread at every position.
    fileprivate let anchoredAtStart: Bool
    fileprivate let dfa: AsciiDFA?

    init(_ pattern: String) throws(SchemaRegexError) {
        var parser = RegexParser(pattern)
        let tree = try parser.parse()
        var compiler = RegexCompiler()
        do {
            try compiler.emit(tree)
        } catch {
            throw SchemaRegexError(pattern: pattern, reason: error.reason)
        }
        compiler.instructions.append(.match)
        self.source = pattern
        self.program = compiler.instructions
        self.classes = compiler.classes
        self.anchoredAtStart = tree.isAnchoredAtStart
        self.dfa = AsciiDFA(program: compiler.instructions, classes: compiler.classes,
                            anchoredAtStart: tree.isAnchoredAtStart, statesMax: Self.dfaStatesMax)
    }

    /// True when the pattern matches somewhere in `text`.
    func matches(_ text: String) -> Bool {
        if let dfa, let answer = withUTF8(text, { dfa.matches($0) }) { return answer }
        return nfaMatches(text)
    }

    /// Whether ASCII strings take the DFA path (tests check that every
    /// event-schema pattern does).
    var hasASCIIAutomaton: Bool { dfa != nil }

    /// The NFA simulation, for any string (tests compare it with the DFA).
    func nfaMatches(_ text: String) -> Bool {
        let count = program.count
        // Two thread lists (a membership stamp and a slot per instruction
        // each) and the epsilon-closure stack (at most two pushes per
        // instruction), on the stack for ordinary patterns.
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: count * 6) { buffer in
            var current = ThreadList(storage: buffer.baseAddress!, capacity: count)
            var next = ThreadList(storage: buffer.baseAddress! + 2 * count, capacity: count)
            let pending = buffer.baseAddress! + 4 * count
            current.reset(generation: 1)
            var generation: Int32 = 1
            var previous: Unicode.Scalar? = nil
            var iterator = text.unicodeScalars.makeIterator()
            var scalar = iterator.next()
            var position = 0
            while true {
                if position == 0 || !anchoredAtStart {
                    addThread(&current, 0, previous: previous, next: scalar, pending: pending)
                }
                if current.containsMatch { return true }
                guard let c = scalar else { return false }
                if current.count == 0 && anchoredAtStart { return false }
                generation += 1
                next.reset(generation: generation)
                let following = iterator.next()
                for i in 0..<current.count {
                    let pc = Int(current[i])
                    if case .consume(let classIndex) = program[pc], classes[classIndex].contains(c) {
                        addThread(&next, pc + 1, previous: c, next: following, pending: pending)
                    }
                }
                swap(&current, &next)
                previous = c
                scalar = following
                position += 1
            }
        }
    }

    /// Adds `pc` and everything reachable from it without consuming input.
    private func addThread(
        _ list: inout ThreadList, _ start: Int,
        previous: Unicode.Scalar?, next: Unicode.Scalar?, pending: UnsafeMutablePointer<Int32>
    ) {
        // Explicit stack: an instruction is expanded once per step and pushes
        // at most two more, so the stack never exceeds 2 x program size.
        var top = 0
        func push(_ pc: Int) { pending[top] = Int32(pc); top += 1 }
        push(start)
        while top > 0 {
            top -= 1
            let pc = Int(pending[top])
            guard list.insert(pc) else { continue }
            switch program[pc] {
            case .consume:
                list.append(pc)
            case .match:
                list.containsMatch = true
            case .jump(let target):
                push(target)
            case .split(let first, let second):
                push(second)
                push(first)
            case .assert(let assertion):
                if assertion.holds(previous: previous, next: next) { push(pc + 1) }
            }
        }
    }
}

struct SchemaRegexError: Error, Sendable, CustomStringConvertible {
    var pattern: String
    var reason: String
    var description: String { "pattern \(pattern): \(reason)" }
}

// MARK: - DFA

/// A deterministic automaton over ASCII bytes for the same search the NFA
/// does. A state stands for the set of NFA threads waiting to consume, plus
/// whether a match is complete now or would be if the input ended here.
/// Bytes are grouped into classes no pattern class tells apart, so the
/// table is states x classes, not states x 128.
fileprivate struct AsciiDFA: Sendable {
    let classOf: [UInt8]          // byte (0..<128) -> class
    let classCount: Int
    let transitions: [UInt16]     // state * classCount + class -> state
    let matchNow: [Bool]
    let matchAtEnd: [Bool]
    let dead: [Bool]              // no thread left and none will start

    /// nil when the pattern needs context the DFA does not track (`\b`) or
    /// the automaton would exceed `statesMax`.
    init?(program: [RegexInstruction], classes: [ScalarClass], anchoredAtStart: Bool, statesMax: Int) {
        for instruction in program {
            if case .assert(let a) = instruction, a == .wordBoundary || a == .notWordBoundary { return nil }
        }
        // Byte classes: bytes with the same membership in every pattern class.
        var signatures: [[Bool]: UInt8] = [:]
        var classOf = [UInt8](repeating: 0, count: 128)
        var representative: [UInt8] = []
        for b in 0..<128 {
            let scalar = Unicode.Scalar(UInt8(b))
            let signature = classes.map { $0.contains(scalar) }
            if let known = signatures[signature] {
                classOf[b] = known
            } else {
                let id = UInt8(representative.count)
                signatures[signature] = id
                representative.append(UInt8(b))
                classOf[b] = id
            }
        }
        let classCount = representative.count

        // Epsilon closure of `seeds` at a position that is (not) the start
        // and (not) the end of the input.
        func closure(_ seeds: [Int], atStart: Bool, atEnd: Bool) -> (consume: [Int], match: Bool) {
            var seen = Set<Int>()
            var stack = seeds
            var consume: [Int] = []
            var match = false
            while let pc = stack.popLast() {
                guard seen.insert(pc).inserted else { continue }
                switch program[pc] {
                case .consume: consume.append(pc)
                case .match: match = true
                case .jump(let target): stack.append(target)
                case .split(let a, let b): stack.append(b); stack.append(a)
                case .assert(.start): if atStart { stack.append(pc + 1) }
                case .assert(.end): if atEnd { stack.append(pc + 1) }
                case .assert: break
                }
            }
            return (consume.sorted(), match)
        }

        struct Key: Hashable { var consume: [Int]; var matchNow: Bool; var matchAtEnd: Bool }
        var states: [Key] = []
        var index: [Key: Int] = [:]
        func intern(_ seeds: [Int], atStart: Bool) -> Int {
            let now = closure(seeds, atStart: atStart, atEnd: false)
            let end = closure(seeds, atStart: atStart, atEnd: true)
            let key = Key(consume: now.consume, matchNow: now.match, matchAtEnd: end.match)
            if let known = index[key] { return known }
            states.append(key)
            index[key] = states.count - 1
            return states.count - 1
        }

        _ = intern([0], atStart: true)
        var transitions: [UInt16] = []
        var next = 0
        while next < states.count {
            guard states.count <= statesMax else { return nil }
            let state = states[next]
            for c in 0..<classCount {
                var seeds: [Int] = []
                if !state.matchNow {
                    let byte = Unicode.Scalar(representative[c])
                    for pc in state.consume {
                        if case .consume(let k) = program[pc], classes[k].contains(byte) { seeds.append(pc + 1) }
                    }
                    if !anchoredAtStart { seeds.append(0) }
                }
                transitions.append(UInt16(intern(seeds, atStart: false)))
            }
            next += 1
        }
        guard states.count <= statesMax else { return nil }
        self.classOf = classOf
        self.classCount = classCount
        self.transitions = transitions
        self.matchNow = states.map(\.matchNow)
        self.matchAtEnd = states.map(\.matchAtEnd)
        self.dead = states.map { $0.consume.isEmpty && !$0.matchNow && !$0.matchAtEnd && anchoredAtStart }
    }

    /// The answer for ASCII input; nil when a byte is not ASCII.
    func matches(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        var state = 0
        if matchNow[0] { return true }
        for b in bytes {
            guard b < 128 else { return nil }
            state = Int(transitions[state &* classCount &+ Int(classOf[Int(b)])])
            if matchNow[state] { return true }
            if dead[state] { return false }
        }
        return matchAtEnd[state]
    }
}

// MARK: - Program

fileprivate enum RegexInstruction: Sendable {
    case consume(Int)            // one scalar in classes[i]
    case split(Int, Int)         // continue at both
    case jump(Int)
    case assert(RegexAssertion)  // zero-width
    case match
}

fileprivate enum RegexAssertion: Sendable, Equatable {
    case start, end, wordBoundary, notWordBoundary

    func holds(previous: Unicode.Scalar?, next: Unicode.Scalar?) -> Bool {
        switch self {
        case .start: return previous == nil
        case .end: return next == nil
        case .wordBoundary: return isWord(previous) != isWord(next)
        case .notWordBoundary: return isWord(previous) == isWord(next)
        }
    }

    private func isWord(_ s: Unicode.Scalar?) -> Bool {
        guard let s else { return false }
        return ClassPredicate.word.test(s)
    }
}

/// The threads of one step: a dense list plus a per-instruction stamp, so
/// clearing is O(1) (bump the generation).
fileprivate struct ThreadList {
    let storage: UnsafeMutablePointer<Int32>  // [0, capacity): stamps; [capacity, 2*capacity): list
    let capacity: Int
    var count = 0
    var generation: Int32 = 0
    var containsMatch = false

    init(storage: UnsafeMutablePointer<Int32>, capacity: Int) {
        self.storage = storage
        self.capacity = capacity
        storage.initialize(repeating: 0, count: capacity)
    }

    mutating func reset(generation: Int32) {
        self.generation = generation
        count = 0
        containsMatch = false
    }

    /// Marks `pc` seen this step; false when it already was.
    mutating func insert(_ pc: Int) -> Bool {
        if storage[pc] == generation { return false }
        storage[pc] = generation
        return true
    }

    mutating func append(_ pc: Int) {
        storage[capacity + count] = Int32(pc)
        count += 1
    }

    subscript(i: Int) -> Int32 { storage[capacity + i] }
}

// MARK: - Character classes

/// A set of scalars: a bitmap for ASCII (computed when compiled, whatever the
/// items), ranges and predicates for the rest.
fileprivate struct ScalarClass: Sendable {
    var asciiLow: UInt64 = 0   // scalars 0..<64
    var asciiHigh: UInt64 = 0  // scalars 64..<128
    var ranges: [ClosedRange<UInt32>] = []
    var predicates: [(ClassPredicate, negated: Bool)] = []
    var negated = false

    init(items: [ClassItem], negated: Bool) {
        self.negated = negated
        for item in items {
            switch item {
            case .range(let lo, let hi): ranges.append(lo...hi)
            case .predicate(let p, let n): predicates.append((p, n))
            }
        }
        for value in UInt32(0)..<128 where containsNonASCIIRule(Unicode.Scalar(value)!) != negated {
            if value < 64 { asciiLow |= 1 << UInt64(value) } else { asciiHigh |= 1 << UInt64(value - 64) }
        }
    }

    @inline(__always) func contains(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 64 { return asciiLow & (1 << UInt64(v)) != 0 }
        if v < 128 { return asciiHigh & (1 << UInt64(v - 64)) != 0 }
        return containsNonASCIIRule(c) != negated
    }

    private func containsNonASCIIRule(_ c: Unicode.Scalar) -> Bool {
        for r in ranges where r.contains(c.value) { return true }
        for (p, n) in predicates where p.test(c) != n { return true }
        return false
    }
}

fileprivate enum ClassItem {
    case range(UInt32, UInt32)
    case predicate(ClassPredicate, negated: Bool)
}

fileprivate enum ClassPredicate: Sendable {
    case digit, word, space, lineTerminator, any
    case category(Set<Unicode.GeneralCategory>)
    case alphabetic, whiteSpace, uppercase, lowercase, ascii

    func test(_ c: Unicode.Scalar) -> Bool {
        switch self {
        case .digit: return c.value >= 0x30 && c.value <= 0x39
        case .word:
            let v = c.value
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        case .space:
            switch c.value {
            case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
                return true
            default: return false
            }
        case .lineTerminator:
            return c.value == 0x0A || c.value == 0x0D || c.value == 0x2028 || c.value == 0x2029
        case .any: return true
        case .category(let set): return set.contains(c.properties.generalCategory)
        case .alphabetic: return c.properties.isAlphabetic
        case .whiteSpace: return c.properties.isWhitespace
        case .uppercase: return c.properties.isUppercase
        case .lowercase: return c.properties.isLowercase
        case .ascii: return c.isASCII
        }
    }

    /// `\p{...}` names: general categories (short and long, with or without
    /// `gc=` / `General_Category=`) and a few binary properties.
    static func unicodeProperty(_ name: String) -> ClassPredicate? {
        var name = name
        for prefix in ["gc=", "General_Category="] where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
        }
        switch name {
        case "Alphabetic", "Alpha": return .alphabetic
        case "White_Space", "space": return .whiteSpace
        case "Uppercase", "Upper": return .uppercase
        case "Lowercase", "Lower": return .lowercase
        case "ASCII": return .ascii
        case "Any": return .any
        default: break
        }
        return generalCategories[name].map { .category($0) }
    }

    private static let generalCategories: [String: Set<Unicode.GeneralCategory>] = {
        typealias G = Unicode.GeneralCategory
        let single: [(String, String, G)] = [
            ("Lu", "Uppercase_Letter", .uppercaseLetter), ("Ll", "Lowercase_Letter", .lowercaseLetter),
            ("Lt", "Titlecase_Letter", .titlecaseLetter), ("Lm", "Modifier_Letter", .modifierLetter),
            ("Lo", "Other_Letter", .otherLetter), ("Mn", "Nonspacing_Mark", .nonspacingMark),
            ("Mc", "Spacing_Mark", .spacingMark), ("Me", "Enclosing_Mark", .enclosingMark),
            ("Nd", "Decimal_Number", .decimalNumber), ("Nl", "Letter_Number", .letterNumber),
            ("No", "Other_Number", .otherNumber), ("Pc", "Connector_Punctuation", .connectorPunctuation),
            ("Pd", "Dash_Punctuation", .dashPunctuation), ("Ps", "Open_Punctuation", .openPunctuation),
            ("Pe", "Close_Punctuation", .closePunctuation), ("Pi", "Initial_Punctuation", .initialPunctuation),
            ("Pf", "Final_Punctuation", .finalPunctuation), ("Po", "Other_Punctuation", .otherPunctuation),
            ("Sm", "Math_Symbol", .mathSymbol), ("Sc", "Currency_Symbol", .currencySymbol),
            ("Sk", "Modifier_Symbol", .modifierSymbol), ("So", "Other_Symbol", .otherSymbol),
            ("Zs", "Space_Separator", .spaceSeparator), ("Zl", "Line_Separator", .lineSeparator),
            ("Zp", "Paragraph_Separator", .paragraphSeparator), ("Cc", "Control", .control),
            ("Cf", "Format", .format), ("Cs", "Surrogate", .surrogate),
            ("Co", "Private_Use", .privateUse), ("Cn", "Unassigned", .unassigned),
        ]
        var table: [String: Set<G>] = [:]
        for (short, long, category) in single {
            table[short] = [category]
            table[long] = [category]
        }
        let groups: [(String, String, [String])] = [
            ("L", "Letter", ["Lu", "Ll", "Lt", "Lm", "Lo"]), ("LC", "Cased_Letter", ["Lu", "Ll", "Lt"]),
            ("M", "Mark", ["Mn", "Mc", "Me"]), ("N", "Number", ["Nd", "Nl", "No"]),
            ("P", "Punctuation", ["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"]),
            ("S", "Symbol", ["Sm", "Sc", "Sk", "So"]), ("Z", "Separator", ["Zs", "Zl", "Zp"]),
            ("C", "Other", ["Cc", "Cf", "Cs", "Co", "Cn"]),
        ]
        for (short, long, members) in groups {
            let set = members.reduce(into: Set<G>()) { $0.formUnion(table[$1]!) }
            table[short] = set
            table[long] = set
        }
        table["digit"] = table["Nd"]
        table["punct"] = table["P"]
        return table
    }()
}

// MARK: - Parser

fileprivate indirect enum RegexNode {
    case empty
    case scalars(ClassItems)
    case assertion(RegexAssertion)
    case concatenation([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)

    /// Every path through the pattern begins with `^`.
    var isAnchoredAtStart: Bool {
        switch self {
        case .assertion(.start): return true
        case .concatenation(let parts): return parts.first?.isAnchoredAtStart ?? false
        case .alternation(let options): return !options.isEmpty && options.allSatisfy(\.isAnchoredAtStart)
        default: return false
        }
    }
}

fileprivate struct ClassItems {
    var items: [ClassItem]
    var negated: Bool
}

fileprivate struct RegexParser {
    let pattern: String
    let scalars: [Unicode.Scalar]
    var index = 0
    /// Bounds recursion on nested groups.
    static let groupDepthMax = 64
    var depth = 0

    init(_ pattern: String) {
        self.pattern = pattern
        self.scalars = Array(pattern.unicodeScalars)
    }

    func error(_ reason: String) -> SchemaRegexError {
        SchemaRegexError(pattern: pattern, reason: reason)
    }

    var atEnd: Bool { index >= scalars.count }
    var peek: Unicode.Scalar? { atEnd ? nil : scalars[index] }

    mutating func parse() throws(SchemaRegexError) -> RegexNode {
        let node = try parseAlternation()
        guard atEnd else { throw error("unmatched ')' at \(index)") }
        return node
    }

    mutating func parseAlternation() throws(SchemaRegexError) -> RegexNode {
        var options = [try parseConcatenation()]
        while peek == "|" {
            index += 1
            options.append(try parseConcatenation())
        }
        return options.count == 1 ? options[0] : .alternation(options)
    }

    mutating func parseConcatenation() throws(SchemaRegexError) -> RegexNode {
        var parts: [RegexNode] = []
        while let c = peek, c != "|", c != ")" {
            let atom = try parseAtom()
            parts.append(try parseQuantifier(atom))
        }
        if parts.isEmpty { return .empty }
        return parts.count == 1 ? parts[0] : .concatenation(parts)
    }

    mutating func parseAtom() throws(SchemaRegexError) -> RegexNode {
        let c = scalars[index]
        index += 1
        switch c {
        case "^": return .assertion(.start)
        case "$": return .assertion(.end)
        case ".": return .scalars(ClassItems(items: [.predicate(.lineTerminator, negated: true)], negated: false))
        case "(":
            return try parseGroup()
        case "[":
            return .scalars(try parseClass())
        case "\\":
            return try parseAtomEscape()
        case "*", "+", "?":
            throw error("nothing to repeat before '\(c)' at \(index - 1)")
        case "{":
            throw error("'{' must be escaped when it does not start a quantifier (at \(index - 1))")
        case "]", "}":
            throw error("unmatched '\(c)' at \(index - 1)")
        default:
            return .scalars(ClassItems(items: [.range(c.value, c.value)], negated: false))
        }
    }

    mutating func parseGroup() throws(SchemaRegexError) -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.groupDepthMax else { throw error("groups nested deeper than \(Self.groupDepthMax)") }
        if peek == "?" {
            index += 1
            switch peek {
            case ":": index += 1
            case "<" where index + 1 < scalars.count && scalars[index + 1] != "=" && scalars[index + 1] != "!":
                // Named group: the name does not matter for a yes/no match.
                while let c = peek, c != ">" { index += 1 }
                guard peek == ">" else { throw error("unterminated group name") }
                index += 1
            default:
                throw error("lookaround and other (?...) groups are not supported")
            }
        }
        let inner = try parseAlternation()
        guard peek == ")" else { throw error("missing ')'") }
        index += 1
        return inner
    }

    mutating func parseQuantifier(_ atom: RegexNode) throws(SchemaRegexError) -> RegexNode {
        guard let c = peek else { return atom }
        var minimum: Int
        var maximum: Int?
        switch c {
        case "*": minimum = 0; maximum = nil; index += 1
        case "+": minimum = 1; maximum = nil; index += 1
        case "?": minimum = 0; maximum = 1; index += 1
        case "{":
            index += 1
            guard let low = parseDecimal() else { throw error("bad quantifier at \(index)") }
            minimum = low
            maximum = low
            if peek == "," {
                index += 1
                maximum = peek == "}" ? nil : parseDecimal()
                if maximum == nil && peek != "}" { throw error("bad quantifier at \(index)") }
            }
            guard peek == "}" else { throw error("bad quantifier at \(index)") }
            index += 1
            if let maximum, maximum < minimum { throw error("quantifier {\(minimum),\(maximum)} out of order") }
        default:
            return atom
        }
        if peek == "?" { index += 1 }  // lazy: same yes/no answer
        if case .assertion = atom { throw error("an anchor cannot be repeated") }
        if let next = peek, next == "*" || next == "+" || next == "?" || next == "{" {
            throw error("nothing to repeat before '\(next)' at \(index)")
        }
        return .repetition(atom, min: minimum, max: maximum)
    }

    mutating func parseDecimal() -> Int? {
        var value = 0
        var digits = 0
        while let c = peek, c.value >= 0x30, c.value <= 0x39 {
            value = min(value * 10 + Int(c.value - 0x30), 1_000_000)
            digits += 1
            index += 1
        }
        return digits > 0 ? value : nil
    }

    mutating func parseAtomEscape() throws(SchemaRegexError) -> RegexNode {
        guard let c = peek else { throw error("pattern ends with '\\'") }
        switch c {
        case "b": index += 1; return .assertion(.wordBoundary)
        case "B": index += 1; return .assertion(.notWordBoundary)
        case "1"..."9", "k": throw error("backreferences are not supported")
        default:
            return .scalars(ClassItems(items: [try parseClassEscape(inClass: false)], negated: false))
        }
    }

    /// One escape after '\' (the backslash already consumed), inside or
    /// outside a class.
    mutating func parseClassEscape(inClass: Bool) throws(SchemaRegexError) -> ClassItem {
        guard let c = peek else { throw error("pattern ends with '\\'") }
        index += 1
        func single(_ v: UInt32) -> ClassItem { .range(v, v) }
        switch c {
        case "d": return .predicate(.digit, negated: false)
        case "D": return .predicate(.digit, negated: true)
        case "w": return .predicate(.word, negated: false)
        case "W": return .predicate(.word, negated: true)
        case "s": return .predicate(.space, negated: false)
        case "S": return .predicate(.space, negated: true)
        case "t": return single(0x09)
        case "n": return single(0x0A)
        case "v": return single(0x0B)
        case "f": return single(0x0C)
        case "r": return single(0x0D)
        case "b" where inClass: return single(0x08)
        case "0":
            if let n = peek, n.value >= 0x30, n.value <= 0x39 { throw error("octal escapes are not supported") }
            return single(0)
        case "c":
            guard let letter = peek, letter.isASCII, letter.properties.isAlphabetic
            else { throw error("bad \\c escape") }
            index += 1
            return single(letter.value % 32)
        case "x":
            guard let v = parseHex(count: 2) else { throw error("bad \\x escape") }
            return single(v)
        case "u":
            if peek == "{" {
                index += 1
                var v: UInt32 = 0
                var digits = 0
                while let h = peek, let d = hexValue(h) {
                    v = v * 16 + d
                    digits += 1
                    index += 1
                    guard v <= 0x10FFFF else { throw error("\\u{...} above U+10FFFF") }
                }
                guard digits > 0, peek == "}" else { throw error("bad \\u{...} escape") }
                index += 1
                return single(v)
            }
            guard let v = parseHex(count: 4) else { throw error("bad \\u escape") }
            return single(v)
        case "p", "P":
            guard peek == "{" else { throw error("\\\(c) needs {name}") }
            index += 1
            var name = ""
            while let n = peek, n != "}" { name.unicodeScalars.append(n); index += 1 }
            guard peek == "}" else { throw error("unterminated \\\(c){...}") }
            index += 1
            guard let predicate = ClassPredicate.unicodeProperty(name) else {
                throw error("unsupported Unicode property \(name)")
            }
            return .predicate(predicate, negated: c == "P")
        default:
            // Identity escapes: Unicode mode allows only syntax characters
            // and '/', plus '-' inside a class.
            if "^$\\.*+?()[]{}|/".unicodeScalars.contains(c) || (inClass && c == "-") {
                return single(c.value)
            }
            throw error("unknown escape \\\(c)")
        }
    }

    mutating func parseHex(count: Int) -> UInt32? {
        guard index + count <= scalars.count else { return nil }
        var v: UInt32 = 0
        for i in 0..<count {
            guard let d = hexValue(scalars[index + i]) else { return nil }
            v = v * 16 + d
        }
        index += count
        return v
    }

    func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }

    mutating func parseClass() throws(SchemaRegexError) -> ClassItems {
        var negated = false
        if peek == "^" { negated = true; index += 1 }
        var items: [ClassItem] = []
        while true {
            guard let c = peek else { throw error("missing ']'") }
            if c == "]" { index += 1; break }
            let low = try parseClassAtom()
            // A range "a-z": '-' followed by something other than ']'.
            if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                index += 1
                let high = try parseClassAtom()
                guard case .range(let lo, _) = low, case .range(let hi, _) = high else {
                    throw error("a class escape cannot bound a range")
                }
                guard lo <= hi else { throw error("range out of order in character class") }
                items.append(.range(lo, hi))
            } else {
                items.append(low)
            }
        }
        return ClassItems(items: items, negated: negated)
    }

    mutating func parseClassAtom() throws(SchemaRegexError) -> ClassItem {
        let c = scalars[index]
        index += 1
        if c == "\\" { return try parseClassEscape(inClass: true) }
        return .range(c.value, c.value)
    }
}

// MARK: - Compiler

fileprivate struct RegexCompiler {
    var instructions: [RegexInstruction] = []
    var classes: [ScalarClass] = []

    private func tooLarge() -> SchemaRegexError {
        SchemaRegexError(pattern: "", reason: "compiles to more than \(SchemaRegex.instructionsMax) instructions")
    }

    private mutating func append(_ instruction: RegexInstruction) throws(SchemaRegexError) {
        guard instructions.count < SchemaRegex.instructionsMax else { throw tooLarge() }
        instructions.append(instruction)
    }

    mutating func emit(_ node: RegexNode) throws(SchemaRegexError) {
        switch node {
        case .empty:
            break
        case .scalars(let items):
            classes.append(ScalarClass(items: items.items, negated: items.negated))
            try append(.consume(classes.count - 1))
        case .assertion(let a):
            try append(.assert(a))
        case .concatenation(let parts):
            for part in parts { try emit(part) }
        case .alternation(let options):
            // split L1, next; L1: option; jump end; next: split ...
            var jumpsToEnd: [Int] = []
            for (i, option) in options.enumerated() {
                if i < options.count - 1 {
                    let split = instructions.count
                    try append(.split(split + 1, -1))
                    try emit(option)
                    jumpsToEnd.append(instructions.count)
                    try append(.jump(-1))
                    instructions[split] = .split(split + 1, instructions.count)
                } else {
                    try emit(option)
                }
            }
            for j in jumpsToEnd { instructions[j] = .jump(instructions.count) }
        case .repetition(let inner, let minimum, let maximum):
            for _ in 0..<minimum { try emit(inner) }
            if let maximum {
                // (inner (inner (...)?)?)? : each optional copy may end early.
                var exits: [Int] = []
                for _ in minimum..<maximum {
                    exits.append(instructions.count)
                    try append(.split(instructions.count + 1, -1))
                    try emit(inner)
                }
                for e in exits { instructions[e] = .split(e + 1, instructions.count) }
            } else {
                let loop = instructions.count
                try append(.split(loop + 1, -1))
                try emit(inner)
                try append(.jump(loop))
                instructions[loop] = .split(loop + 1, instructions.count)
            }
        }
    }
}
