import Foundation

/// A fresh directory under /tmp named after the test (`#function`), made
/// with mkdtemp. Searchable by everyone (0755) so the `postgres` account
/// reaches a cluster inside it when the tests run as root, and short, since
/// a Unix socket path inside it is limited to 107 bytes.
public func makeTemporaryDirectory(_ name: String = #function) -> String {
    let clean = String(name.filter { $0.isLetter || $0.isNumber }.prefix(24))
    var template = Array("/tmp/cl-\(clean)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed: \(String(cString: strerror(errno)))")
    let path = String(cString: made!)
    chmod(path, 0o755)
    return path
}
