/// Catalog rules JSON Schema cannot express, and where each is enforced.
///
/// EventSchemas/README.md's value rules, as checked on ingest:
///
/// - currency is an ISO 4217 code from the list: `x-code-list: iso4217` on
///   defs.json's `currency`;
/// - `location.country` is ISO 3166-1 alpha-2: `x-code-list: iso3166-1-alpha-2`;
/// - `location.timezone` is an IANA name: `x-code-list: iana-time-zone`;
/// - min <= max in every range: `x-ordered: [["min", "max"]]` on
///   `profile.updated`'s `salary_expectation` (the catalog's only range);
/// - `expires_on` >= `issued_on`: `x-ordered` on `certification.earned`;
/// - unknown fields in `data` are rejected: `additionalProperties: false`,
///   which the loader requires at every object level;
/// - repeated keys, NaN, Infinity: the JSON parser;
/// - `dataversion` must be one in EventSchemas/: `SchemaRegistry.validate`.
///
/// Not checked here because they need history, not one event: a repeated
/// event `id` is a duplicate (ingest dedupe); a `cv.parsed` skill counts only
/// if the user lacks it (projections).
///
/// Violations are reported like any schema violation (`.schema`, a path,
/// a short reason), and never quote the offending string.

/// The embedded lists `x-code-list` names.
enum SchemaCodeList: String, Sendable, CaseIterable {
    case currency = "iso4217"
    case country = "iso3166-1-alpha-2"
    case timeZone = "iana-time-zone"

    func contains(_ s: String) -> Bool {
        switch self {
        case .currency: return ISOCodes.isCurrency(s)
        case .country: return ISOCodes.isCountry(s)
        case .timeZone: return ISOCodes.isTimeZone(s)
        }
    }

    var listName: String {
        switch self {
        case .currency: return "an ISO 4217 currency code"
        case .country: return "an ISO 3166-1 alpha-2 country code"
        case .timeZone: return "an IANA time zone name"
        }
    }
}

/// One `x-ordered` pair: when both members are present, `low` <= `high`
/// (numbers by value, dates and date-times as instants).
struct OrderedPair: Sendable {
    let low: String
    let high: String
}

final class OrderedPairs: Sendable {
    let pairs: [OrderedPair]
    init(_ pairs: [OrderedPair]) { self.pairs = pairs }
}

extension SchemaProgram {
    func checkOrdered(_ object: JSONObject, _ pairs: OrderedPairs) -> SchemaFailure? {
        for pair in pairs.pairs {
            guard let low = object[pair.low], let high = object[pair.high] else { continue }
            if Self.isDescending(low, high) {
                return SchemaFailure(.ordered(pair, low: low, high: high))
            }
        }
        return nil
    }

    /// `low` > `high` for numbers, dates, or date-times; false for values
    /// that do not compare (their own checks report them).
    static func isDescending(_ low: JSONValue, _ high: JSONValue) -> Bool {
        switch (low, high) {
        case (.number(let a), .number(let b)):
            if let x = Int64(a.text), let y = Int64(b.text) { return x > y }
            return a.double > b.double
        case (.string(let a), .string(let b)):
            if let x = CalendarDate(iso: a), let y = CalendarDate(iso: b) { return x > y }
            if let x = Timestamp(rfc3339: a), let y = Timestamp(rfc3339: b) { return x > y }
            return false
        default:
            return false
        }
    }
}
