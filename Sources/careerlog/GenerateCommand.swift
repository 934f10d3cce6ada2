import ArgumentParser
import CareerEvents
import EventGenerator
import Replay

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Print a deterministic, realistic event history as NDJSON.",
        discussion: "The same options always give the same bytes. About 200 events per user over 12 months.")

    // `.unconditional`: a negative number is taken as the value (and
    // rejected by `validate` with the range), not as an unknown option.
    @Option(parsing: .unconditional, help: ArgumentHelp("How many people (learners; mentors and recruiters are added in proportion).", valueName: "n"))
    var users: Int = 100
    @Option(parsing: .unconditional, help: ArgumentHelp("The random seed.", valueName: "n")) var seed: UInt64 = 1
    @Option(help: ArgumentHelp("The first day of the history (YYYY-MM-DD).", valueName: "date")) var start: String = "2024-01-01"
    @Option(parsing: .unconditional, help: ArgumentHelp("How many months the history spans.", valueName: "n")) var months: Int = 12

    func validate() throws {
        guard users >= 1, users <= 10_000_000 else { throw ValidationError("--users must be between 1 and 10000000, got \(users)") }
        guard months >= 1, months <= 240 else { throw ValidationError("--months must be between 1 and 240, got \(months)") }
        guard CalendarDate(iso: start) != nil else { throw ValidationError("--start must be a date like 2024-01-01") }
    }

    func run() throws {
        let options = GeneratorOptions(users: users, seed: seed, start: CalendarDate(iso: start)!, months: months)
        try options.validate()
        var generator = HistoryGenerator(options: options)
        let out = OutputBuffer()
        do {
            var more = true
            while more {
                try out.withBuffer { more = generator.nextLine(into: &$0) }
            }
            try out.flush()
        } catch {
            return  // closed pipe
        }
    }
}
