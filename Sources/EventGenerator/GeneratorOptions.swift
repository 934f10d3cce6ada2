import CareerEvents

/// What to generate: how many learners, from which seed, over which window.
public struct GeneratorOptions: Sendable, Hashable {
    /// Learners simulated. Mentors (1 per 20 learners) and recruiters
    /// (1 per 40) come on top.
    public var users: Int
    /// Same seed and options, same bytes, on every machine.
    public var seed: UInt64
    /// First day of the window, 00:00 UTC (`CalendarDate(iso: "2024-01-01")`).
    public var start: CalendarDate
    /// Window length in calendar months; events fall in [start, start + months).
    public var months: Int

    /// Bound on `users`: memory is a few hundred bytes per simulated person,
    /// and subject indices must fit in 32 bits; 2 million learners is ~400
    /// million events, far past any benchmark here.
    public static let usersMax = 2_000_000
    /// Bound on `months`: 20 years, ample for multi-year cohorts and
    /// placements more than a year after enrollment.
    public static let monthsMax = 240
    /// Bounds on the start year: times are milliseconds since 1970, and a
    /// window must end before year 10000 stops fitting in `YYYY`.
    public static let startYearMin = 1970
    public static let startYearMax = 9000

    /// 2024-01-01, the default start of the window.
    public static let defaultStart = CalendarDate(year: 2024, month: 1, day: 1)!

    public init(users: Int, seed: UInt64, start: CalendarDate = defaultStart, months: Int = 12) {
        self.users = users
        self.seed = seed
        self.start = start
        self.months = months
    }

    /// Checks the options a command line may get wrong.
    public func validate() throws {
        guard (0...Self.usersMax).contains(users) else {
            throw GeneratorOptionsError(code: .usersOutOfRange,
                                        message: "users is \(users); use 0 to \(Self.usersMax)")
        }
        guard (1...Self.monthsMax).contains(months) else {
            throw GeneratorOptionsError(code: .monthsOutOfRange,
                                        message: "months is \(months); use 1 to \(Self.monthsMax)")
        }
        guard (Self.startYearMin...Self.startYearMax).contains(start.year) else {
            throw GeneratorOptionsError(code: .startOutOfRange,
                                        message: "start \(start.iso) is outside \(Self.startYearMin)-01-01 to \(Self.startYearMax)-12-31")
        }
    }
}

public struct GeneratorOptionsError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        case usersOutOfRange, monthsOutOfRange, startOutOfRange
    }

    public var code: Code
    public var message: String

    public var description: String { message }
}
