#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to stderr, unbuffered.
func printError(_ text: String) {
    var line = text
    line.append("\n")
    _ = line.utf8CString.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress!, $0.count - 1) }
}

/// True when `fd` is a terminal (progress lines go only there).
func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
