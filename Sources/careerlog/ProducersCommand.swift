import ArgumentParser
import Ingest

/// `careerlog producers`: make a producer token and check a producers file.
struct ProducersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "producers",
        abstract: "Producer identities for `serve --producers`: make tokens, check the file.",
        subcommands: [ProducersTokenCommand.self, ProducersCheckCommand.self]
    )
}

/// Prints a new random token and the `token_sha256` line for the producers
/// file. The token is printed once and stored nowhere: the server keeps
/// only its hash.
struct ProducersTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make a new producer token: the token goes to the producer, its SHA-256 into the producers file."
    )

    @Flag(name: .long, help: "Print only the token and its hash, tab-separated (for scripts).")
    var plain = false

    func run() throws {
        let token = ProducerToken.generate()
        let hash = ProducerToken.sha256Hex(token)
        if plain {
            print("\(token)\t\(hash)")
            return
        }
        print("token (give it to the producer, e.g. `careerlog emit --token-file FILE`; it is not stored anywhere):")
        print("  \(token)")
        print("line for the producer's entry in the producers file:")
        print("  \"token_sha256\": \"\(hash)\"")
    }
}

/// Reads a producers file as the server would and says what it allows, or
/// exactly what is wrong: run it before `kill -HUP`.
struct ProducersCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a producers file as `serve --producers` reads it, and list what each producer may write."
    )

    @Argument(help: "The producers file (JSON).")
    var file: String

    func run() throws {
        let registry: ProducerRegistry
        do {
            registry = try ProducerRegistry.load(path: file)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        registry.summaryLines(file: file).forEach { print($0) }
    }
}
