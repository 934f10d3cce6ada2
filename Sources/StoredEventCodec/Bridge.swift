import CareerEvents
import EventLog
import Foundation

// The one place where the event contract (CareerEvents) meets the storage
// format (EventLog): an accepted envelope becomes a log event, and a stored
// record becomes JSON again.

extension EventTime {
    public init(_ time: Timestamp) {
        self.init(seconds: time.seconds, nanoseconds: time.nanoseconds, offsetMinutes: time.offsetMinutes,
                  fractionDigits: time.fractionDigits, isLeapSecond: time.isLeapSecond)
    }
}

extension Timestamp {
    public init(_ time: EventTime) {
        self.init(seconds: time.seconds, nanoseconds: time.nanoseconds, offsetMinutes: time.offsetMinutes,
                  fractionDigits: time.fractionDigits)
        self.isLeapSecond = time.isLeapSecond
    }

    /// A recorded time (µs since the epoch) as a UTC timestamp with
    /// microseconds.
    public init(recordedMicroseconds us: Int64) {
        let seconds = us >= 0 ? us / 1_000_000 : (us - 999_999) / 1_000_000
        let micros = us - seconds * 1_000_000
        self.init(seconds: seconds, nanoseconds: UInt32(micros) * 1000, offsetMinutes: 0, fractionDigits: 6)
    }

    /// Microseconds since the Unix epoch.
    public var microseconds: Int64 { seconds * 1_000_000 + Int64(nanoseconds / 1000) }
}

extension LogEvent {
    /// The log event for an accepted envelope: ids and time binary, `data`
    /// as compact JSON with numbers as the producer wrote them.
    public init(_ envelope: Envelope) {
        var data: [UInt8] = []
        data.reserveCapacity(256)
        JSONValue.object(envelope.data).write(into: &data)
        self.init(
            id: envelope.id, subject: envelope.subject, time: EventTime(envelope.time),
            source: envelope.source, type: envelope.type, dataVersion: UInt32(envelope.dataVersion), data: data)
    }
}

extension Envelope {
    /// The envelope of a stored event (parses `data`).
    public init(_ event: LogEvent) throws(EventError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(event.data)
        } catch {
            throw EventError(code: .parse, path: "data", reason: "stored data is not JSON: \(error)")
        }
        guard case .object(let data) = value else {
            throw EventError(code: .schema, path: "data", reason: "stored data is not an object")
        }
        self.init(id: event.id, source: event.source, type: event.type, dataVersion: Int(event.dataVersion),
                  subject: event.subject, time: Timestamp(event.time), data: data)
    }
}
