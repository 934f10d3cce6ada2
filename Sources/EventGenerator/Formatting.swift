/// Byte-level formatting of the values events carry: UUIDs, RFC 3339
/// timestamps, dates, cohorts and fixed-point decimals.
///
/// These write straight into the output buffer because they run for every
/// generated event (the fast path makes no `String` per event). They are the
/// generator's own on purpose: `UUIDText` and `Timestamp` in CareerEvents
/// format the same values, and the tests check the two agree.

/// A version-4 UUID as two 64-bit halves (`high` = the first 8 bytes).
struct UUID128: Sendable, Hashable, Comparable {
    var high: UInt64
    var low: UInt64

    /// Sets the version (4) and variant (RFC 4122, `10xx`) bits of 128 random bits.
    init(randomHigh: UInt64, randomLow: UInt64) {
        self.high = (randomHigh & ~0xF000) | 0x4000
        self.low = (randomLow & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
    }

    /// A UUID that is a pure function of `key` (ids of roadmap tasks, learners
    /// and mentors are recomputed rather than stored).
    init(derivedFrom key: UInt64) {
        self.init(randomHigh: SplitMix64.mix(key), randomLow: SplitMix64.mix(key ^ 0x6A09_E667_F3BC_C909))
    }

    static func < (a: UUID128, b: UUID128) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    /// Writes the lower-case canonical 8-4-4-4-12 form: 36 bytes, no quotes.
    @inline(__always)
    func write(to out: UnsafeMutablePointer<UInt8>) {
        UUID128.writeHex8(UInt32(truncatingIfNeeded: high >> 32), to: out)
        out[8] = UInt8(ascii: "-")
        UUID128.writeHex8(UInt32(truncatingIfNeeded: high), to: out + 9)
        UUID128.insertHyphen(at: out + 13)                          // 9..<13 - 14..<18
        out[18] = UInt8(ascii: "-")
        UUID128.writeHex8(UInt32(truncatingIfNeeded: low >> 32), to: out + 19)
        UUID128.insertHyphen(at: out + 23)                          // 19..<23 - 24..<28
        UUID128.writeHex8(UInt32(truncatingIfNeeded: low), to: out + 28)
    }

    /// Moves the 4 bytes at `at` one to the right and writes `-` at `at`.
    @inline(__always)
    private static func insertHyphen(at position: UnsafeMutablePointer<UInt8>) {
        position[4] = position[3]
        position[3] = position[2]
        position[2] = position[1]
        position[1] = position[0]
        position[0] = UInt8(ascii: "-")
    }

    /// Writes `value` as 8 lower-case hex digits, most significant first,
    /// converting all eight nibbles at once in a 64-bit word (SWAR).
    @inline(__always)
    static func writeHex8(_ value: UInt32, to out: UnsafeMutablePointer<UInt8>) {
        var x = UInt64(value)
        // Spread: byte i of x (from the least significant) = nibble i of value.
        x = ((x & 0xFFFF_0000) << 16) | (x & 0x0000_FFFF)
        x = ((x & 0x0000_FF00_0000_FF00) << 8) | (x & 0x0000_00FF_0000_00FF)
        x = ((x & 0x00F0_00F0_00F0_00F0) << 4) | (x & 0x000F_000F_000F_000F)
        // '0' + n, plus 39 more where n >= 10 ('a' - '0' - 10 = 39).
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        x = x &+ 0x3030_3030_3030_3030 &+ letters &* 39
        // Most significant nibble at the lowest address.
        UnsafeMutableRawPointer(out).storeBytes(of: x.bigEndian, as: UInt64.self)
    }

    /// Appends the canonical form (36 bytes, no quotes).
    func write(into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { buffer in
            write(to: buffer.baseAddress!)
            out.append(contentsOf: buffer)
        }
    }

    var string: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Proleptic Gregorian calendar arithmetic in UTC (Howard Hinnant's
/// `days_from_civil` / `civil_from_days`), exact for every year used here.
enum CivilTime {
    struct Date: Sendable, Equatable {
        var year: Int
        var month: Int
        var day: Int
    }

    /// Days since 1970-01-01 of a calendar date.
    static func epochDay(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func date(epochDay: Int64) -> Date {
        let z = epochDay + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return Date(year: Int(year), month: Int(month), day: Int(day))
    }

    static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The same day `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28/29).
    static func adding(months: Int, to date: Date) -> Date {
        let index = date.year * 12 + (date.month - 1) + months
        let year = index / 12
        let month = index % 12 + 1
        return Date(year: year, month: month, day: min(date.day, daysInMonth(year: year, month: month)))
    }

    static func epochDay(ofMillis millis: Int64) -> Int64 {
        millis >= 0 ? millis / Millis.day : (millis - Millis.day + 1) / Millis.day
    }

    /// `2024-03-07T18:04:05.123Z`: RFC 3339, UTC, always three fraction
    /// digits; 24 bytes written to `out`.
    static func writeTimestamp(_ millis: Int64, to out: UnsafeMutablePointer<UInt8>) {
        let day = epochDay(ofMillis: millis)
        writeDate(day, to: out)
        var rest = Int(millis - day * Millis.day)
        let milliseconds = rest % 1000; rest /= 1000
        let seconds = rest % 60; rest /= 60
        let minutes = rest % 60
        let hours = rest / 60
        out[10] = UInt8(ascii: "T")
        writeDigits(hours, count: 2, to: out + 11)
        out[13] = UInt8(ascii: ":")
        writeDigits(minutes, count: 2, to: out + 14)
        out[16] = UInt8(ascii: ":")
        writeDigits(seconds, count: 2, to: out + 17)
        out[19] = UInt8(ascii: ".")
        writeDigits(milliseconds, count: 3, to: out + 20)
        out[23] = UInt8(ascii: "Z")
    }

    static func writeTimestamp(_ millis: Int64, into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            writeTimestamp(millis, to: buffer.baseAddress!)
            out.append(contentsOf: buffer)
        }
    }

    /// `2024-03-07` (RFC 3339 full-date); 10 bytes written to `out`.
    static func writeDate(_ epochDay: Int64, to out: UnsafeMutablePointer<UInt8>) {
        let date = date(epochDay: epochDay)
        writeDigits(date.year, count: 4, to: out)
        out[4] = UInt8(ascii: "-")
        writeDigits(date.month, count: 2, to: out + 5)
        out[7] = UInt8(ascii: "-")
        writeDigits(date.day, count: 2, to: out + 8)
    }

    static func writeDate(_ epochDay: Int64, into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { buffer in
            writeDate(epochDay, to: buffer.baseAddress!)
            out.append(contentsOf: buffer)
        }
    }

    /// `2024-03`, the cohort of an enrollment at `millis`; 7 bytes written to `out`.
    static func writeMonth(_ millis: Int64, to out: UnsafeMutablePointer<UInt8>) {
        let date = date(epochDay: epochDay(ofMillis: millis))
        writeDigits(date.year, count: 4, to: out)
        out[4] = UInt8(ascii: "-")
        writeDigits(date.month, count: 2, to: out + 5)
    }

    static func writeMonth(_ millis: Int64, into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 7) { buffer in
            writeMonth(millis, to: buffer.baseAddress!)
            out.append(contentsOf: buffer)
        }
    }

    /// Writes `value` as exactly `count` decimal digits (zero-padded).
    @inline(__always)
    static func writeDigits(_ value: Int, count: Int, to out: UnsafeMutablePointer<UInt8>) {
        var rest = value
        var index = count - 1
        while index >= 0 {
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        }
    }
}

/// Non-negative decimal numbers as exact text: no `Double` round trip, so
/// `1.25` hours is written as `1.25`, never `1.2499999`.
enum DecimalText {
    /// Writes `value` (any sign) in base 10 to `out`, which has room for 20
    /// bytes; returns the number written.
    @inline(__always)
    static func writeInteger(_ value: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var magnitude = value.magnitude
        var count = 0
        if value < 0 { out[0] = UInt8(ascii: "-"); count = 1 }
        var digits = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; digits += 1 }
        var index = count + digits - 1
        repeat {
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
            index -= 1
        } while magnitude > 0
        return count + digits
    }

    /// Writes `value` (any sign) in base 10.
    static func writeInteger(_ value: Int, into out: inout [UInt8]) {
        appendWritten(into: &out) { writeInteger(value, to: $0) }
    }

    /// Writes `units / 4` (quarter hours): `3`, `0.25`, `1.5`, `2.75`.
    /// At most 23 bytes; returns the number written.
    @inline(__always)
    static func writeQuarters(_ units: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        precondition(units >= 0)
        var count = writeInteger(units / 4, to: out)
        switch units % 4 {
        case 1: out[count] = UInt8(ascii: "."); out[count + 1] = UInt8(ascii: "2"); out[count + 2] = UInt8(ascii: "5"); count += 3
        case 2: out[count] = UInt8(ascii: "."); out[count + 1] = UInt8(ascii: "5"); count += 2
        case 3: out[count] = UInt8(ascii: "."); out[count + 1] = UInt8(ascii: "7"); out[count + 2] = UInt8(ascii: "5"); count += 3
        default: break
        }
        return count
    }

    /// Writes `units / 100` (cents): `49.99`, `120.5`, `300`.
    /// At most 23 bytes; returns the number written.
    @inline(__always)
    static func writeCents(_ units: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        precondition(units >= 0)
        var count = writeInteger(units / 100, to: out)
        let cents = units % 100
        guard cents != 0 else { return count }
        out[count] = UInt8(ascii: "."); count += 1
        out[count] = UInt8(ascii: "0") &+ UInt8(cents / 10); count += 1
        if cents % 10 != 0 { out[count] = UInt8(ascii: "0") &+ UInt8(cents % 10); count += 1 }
        return count
    }

    static func writeQuarters(_ units: Int, into out: inout [UInt8]) {
        appendWritten(into: &out) { writeQuarters(units, to: $0) }
    }

    static func writeCents(_ units: Int, into out: inout [UInt8]) {
        appendWritten(into: &out) { writeCents(units, to: $0) }
    }

    private static func appendWritten(into out: inout [UInt8], _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            let count = write(buffer.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }
}
