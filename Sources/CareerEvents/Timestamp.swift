#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An instant plus how it was written: RFC 3339 `date-time` with an offset.
///
///     1990-12-31T15:59:50.123-08:00
///     |--------| |------|  |-| |----|
///     full-date  time      frac offset ("Z"/"z", or +HH:MM / -HH:MM)
///
/// The instant is `seconds` + `nanoseconds` since the Unix epoch (UTC,
/// proleptic Gregorian calendar, no leap-second table). `offsetMinutes` and
/// `fractionDigits` only remember the spelling, so `rfc3339` gives back what
/// the producer sent (with "Z" for any zero offset, `-00:00` included).
///
/// Leap seconds: `23:59:60` is accepted only when it is 23:59:60 in UTC once
/// the offset is applied (any day; the future leap-second table is unknown).
/// Such a value keeps `seconds` at 23:59:59 UTC and sets `isLeapSecond`; it
/// sorts after every 23:59:59.x and before the following midnight, and is
/// written back as `:60`.
///
/// More than nine fraction digits are accepted (RFC 3339 allows any number)
/// and truncated to nanoseconds; `fractionDigits` is then 9.
public struct Timestamp: Sendable, Hashable, Comparable {
    /// Unix seconds of the instant (UTC).
    public var seconds: Int64
    /// 0..<1_000_000_000.
    public var nanoseconds: UInt32
    /// The written UTC offset in minutes; "Z" is 0. Within -1439...1439.
    public var offsetMinutes: Int16
    /// Digits written after '.', 0...9.
    public var fractionDigits: UInt8
    /// The written second was 60 (see the type's notes).
    public var isLeapSecond: Bool

    public init(seconds: Int64, nanoseconds: UInt32 = 0, offsetMinutes: Int16 = 0, fractionDigits: UInt8 = 0) {
        precondition(nanoseconds < 1_000_000_000, "nanoseconds must be below 1e9")
        precondition(abs(Int(offsetMinutes)) < 1440, "offset must be less than 24 hours")
        precondition(fractionDigits <= 9, "at most 9 fraction digits")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.offsetMinutes = offsetMinutes
        self.fractionDigits = fractionDigits
        self.isLeapSecond = false
    }

    /// The current time (CLOCK_REALTIME), in UTC with nanoseconds written out
    /// in full; for `recorded` stamps.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: UInt32(spec.tv_nsec), fractionDigits: 9)
    }

    /// Strict RFC 3339 `date-time` (offset required); nil for anything else,
    /// including surrounding whitespace.
    public init?(rfc3339 text: some StringProtocol) {
        let parsed = text.utf8.withContiguousStorageIfAvailable { Timestamp(rfc3339Bytes: UnsafeRawBufferPointer($0)) }
        if let parsed {
            guard let parsed else { return nil }
            self = parsed
        } else {
            var copy = String(text)
            guard let parsed = copy.withUTF8({ Timestamp(rfc3339Bytes: UnsafeRawBufferPointer($0)) }) else { return nil }
            self = parsed
        }
    }

    /// Strict RFC 3339 `date-time` from UTF-8 bytes.
    public init?(rfc3339Bytes b: UnsafeRawBufferPointer) {
        // Fixed part: YYYY-MM-DDTHH:MM:SS is 19 bytes; the shortest zone is 1.
        guard b.count >= 20,
              let date = CalendarDate(isoBytes: UnsafeRawBufferPointer(rebasing: b[0..<10])),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              let hour = twoDigits(b, 11), b[13] == UInt8(ascii: ":"),
              let minute = twoDigits(b, 14), b[16] == UInt8(ascii: ":"),
              let second = twoDigits(b, 17),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var i = 19
        var nanos: UInt32 = 0
        var digits = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            while i < b.count, b[i] &- UInt8(ascii: "0") < 10 {
                if digits < 9 { nanos = nanos * 10 + UInt32(b[i] &- UInt8(ascii: "0")) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { nanos *= 10 }
        }

        guard i < b.count else { return nil }
        var offset = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == b.count,
                  let offsetHour = twoDigits(b, i + 1), b[i + 3] == UInt8(ascii: ":"),
                  let offsetMinute = twoDigits(b, i + 4),
                  offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offset = (offsetHour * 60 + offsetMinute) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == b.count else { return nil }

        let leap = second == 60
        if leap {
            // Must be 23:59 in UTC: local minute-of-day minus the offset.
            let utcMinute = ((hour * 60 + minute - offset) % 1440 + 1440) % 1440
            guard utcMinute == 23 * 60 + 59 else { return nil }
        }
        let local = Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
        self.seconds = local - Int64(offset * 60)
        self.nanoseconds = nanos
        self.offsetMinutes = Int16(offset)
        self.fractionDigits = UInt8(min(digits, 9))
        self.isLeapSecond = leap
    }

    /// RFC 3339 text in the written offset ("Z" when 0) with the written
    /// number of fraction digits, or more when `nanoseconds` needs them (a
    /// value built in code), so the instant is never rounded away.
    public var rfc3339: String {
        var out: [UInt8] = []
        out.reserveCapacity(35)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `rfc3339`'s bytes to `out` (for writers that build a line).
    public func appendRFC3339(to out: inout [UInt8]) {
        let local = seconds + Int64(offsetMinutes) * 60
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondOfDay = Int(local - days * 86_400)
        let date = CalendarDate(daysSinceEpoch: Int(days))
        date.appendISO(to: &out)
        out.append(UInt8(ascii: "T"))
        appendDecimal(secondOfDay / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDecimal(secondOfDay / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDecimal(isLeapSecond ? 60 : secondOfDay % 60, width: 2, to: &out)

        var digits = Int(fractionDigits)
        while digits < 9 && nanoseconds % Self.powersOfTen[9 - digits] != 0 { digits += 1 }
        if digits > 0 {
            out.append(UInt8(ascii: "."))
            appendDecimal(Int(nanoseconds / Self.powersOfTen[9 - digits]), width: digits, to: &out)
        }

        if offsetMinutes == 0 {
            out.append(UInt8(ascii: "Z"))
        } else {
            let magnitude = abs(Int(offsetMinutes))
            out.append(offsetMinutes < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            appendDecimal(magnitude / 60, width: 2, to: &out)
            out.append(UInt8(ascii: ":"))
            appendDecimal(magnitude % 60, width: 2, to: &out)
        }
    }

    private static let powersOfTen: [UInt32] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]

    /// The UTC calendar date of the instant (analytics buckets are UTC).
    public var utcDate: CalendarDate {
        CalendarDate(daysSinceEpoch: Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400))
    }

    /// Instants compare; the spelling (offset, digits) does not.
    public static func == (a: Timestamp, b: Timestamp) -> Bool {
        a.seconds == b.seconds && a.isLeapSecond == b.isLeapSecond && a.nanoseconds == b.nanoseconds
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        if a.seconds != b.seconds { return a.seconds < b.seconds }
        if a.isLeapSecond != b.isLeapSecond { return b.isLeapSecond }
        return a.nanoseconds < b.nanoseconds
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(seconds)
        hasher.combine(isLeapSecond)
        hasher.combine(nanoseconds)
    }
}

extension Timestamp: CustomStringConvertible {
    public var description: String { rfc3339 }
}

/// An RFC 3339 `full-date` (YYYY-MM-DD), a real day of the proleptic
/// Gregorian calendar with a four-digit year.
public struct CalendarDate: Sendable, Hashable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int

    /// A real calendar date, or nil (`2021-02-29` is nil).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= Self.daysInMonth(year: year, month: month) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date that is `daysSinceEpoch` days after 1970-01-01.
    public init(daysSinceEpoch: Int) {
        // Howard Hinnant's civil_from_days: eras of 400 years (146,097 days),
        // years counted from March so February's length comes last.
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        self.day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        self.month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        self.year = yearOfEra + era * 400 + (self.month <= 2 ? 1 : 0)
    }

    /// Strict `YYYY-MM-DD`; nil for anything else (no whitespace, no time).
    public init?(iso text: some StringProtocol) {
        let parsed = text.utf8.withContiguousStorageIfAvailable { CalendarDate(isoBytes: UnsafeRawBufferPointer($0)) }
        if let parsed {
            guard let parsed else { return nil }
            self = parsed
        } else {
            var copy = String(text)
            guard let parsed = copy.withUTF8({ CalendarDate(isoBytes: UnsafeRawBufferPointer($0)) }) else { return nil }
            self = parsed
        }
    }

    /// Strict `YYYY-MM-DD` from UTF-8 bytes.
    public init?(isoBytes b: UnsafeRawBufferPointer) {
        guard b.count == 10,
              let high = twoDigits(b, 0), let low = twoDigits(b, 2), b[4] == UInt8(ascii: "-"),
              let month = twoDigits(b, 5), b[7] == UInt8(ascii: "-"),
              let day = twoDigits(b, 8)
        else { return nil }
        self.init(year: high * 100 + low, month: month, day: day)
    }

    /// `YYYY-MM-DD` (years outside 0...9999, only reachable from
    /// `init(daysSinceEpoch:)`, are written with as many digits as they need).
    public var iso: String {
        var out: [UInt8] = []
        out.reserveCapacity(10)
        appendISO(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public func appendISO(to out: inout [UInt8]) {
        if year < 0 { out.append(UInt8(ascii: "-")) }
        appendDecimal(abs(year), width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDecimal(month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDecimal(day, width: 2, to: &out)
    }

    /// Days from 1970-01-01 (negative before it).
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil, the inverse of init(daysSinceEpoch:).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension CalendarDate: CustomStringConvertible {
    public var description: String { iso }
}

/// Two ASCII digits at `b[at]`, `b[at + 1]`, or nil. Callers check bounds.
@inline(__always) private func twoDigits(_ b: UnsafeRawBufferPointer, _ at: Int) -> Int? {
    let tens = b[at] &- UInt8(ascii: "0")
    let ones = b[at + 1] &- UInt8(ascii: "0")
    guard tens < 10, ones < 10 else { return nil }
    return Int(tens) * 10 + Int(ones)
}

/// Appends `value` (>= 0) in decimal, zero-padded to at least `width` digits.
private func appendDecimal(_ value: Int, width: Int, to out: inout [UInt8]) {
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &digits) { buffer in
        var v = value
        var n = 0
        repeat {
            buffer[n] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            n += 1
        } while v > 0
        while n < width { buffer[n] = UInt8(ascii: "0"); n += 1 }
        while n > 0 { n -= 1; out.append(buffer[n]) }
    }
}
