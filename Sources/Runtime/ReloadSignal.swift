import Dispatch
import Foundation

/// Routes SIGHUP to a reload (the ingest door's certificate and producers
/// file): the action runs on a dispatch queue as ordinary code, one at a
/// time, for as long as this object lives. Like `StopSignal.trap`, it takes
/// the signal with a dispatch source, never a C handler.
public final class ReloadSignal: @unchecked Sendable {
    private let source: any DispatchSourceSignal

    /// Starts routing `signalNumber` to `action`. SIGHUP's default action
    /// (ending the process) is off from now on.
    public init(signal signalNumber: Int32 = SIGHUP, action: @escaping @Sendable () -> Void) {
        signal(signalNumber, SIG_IGN)
        // A serial queue: two quick SIGHUPs reload one after the other.
        source = DispatchSource.makeSignalSource(signal: signalNumber, queue: DispatchQueue(label: "careerlog.reload"))
        source.setEventHandler(handler: action)
        source.resume()
    }

    deinit { source.cancel() }
}
