// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "careerlog",
    platforms: [.macOS(.v15)],
    // Only the executables are products: the libraries are internal modules
    // until their API (and error codes) is stable enough to promise.
    products: [
        .executable(name: "careerlog", targets: ["careerlog"]),
        .executable(name: "careerlog-bench", targets: ["careerlog-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // TLS on the ingest TCP listener (BoringSSL inside: no system OpenSSL needed).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // SHA-256 of producer tokens; sealing of PII fields (AES-256-GCM) and key wrapping in SubjectKeys.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System library shims. pkg-config names the flags; the providers tell
        // SwiftPM (and the person reading its error) which package to install.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // CRC-32C for the log, the key store and the dedupe snapshot: the CPU's
        // crc32 instruction where there is one (Swift cannot emit it, and no
        // package we may use has it), else slicing-by-8.
        .target(name: "CCRC32C"),

        // The append-only segmented log: frames, LZ4, CRC32C, index, recovery.
        .target(name: "EventLog", dependencies: ["CLZ4", "CCRC32C"], exclude: ["FORMAT.md"]),

        // The event contract: JSON, envelope, schemas and the validator.
        .target(name: "CareerEvents"),

        // The stored event as JSON and back: envelope <-> log record, stored
        // records back to NDJSON, and the one JSON-string and CSV-field writer.
        // Also the sealing of PII on write and its opening on read (with SubjectKeys).
        .target(name: "StoredEventCodec", dependencies: ["EventLog", "CareerEvents", "SubjectKeys"]),

        // Per-subject data keys, the key store, sealing and unsealing of PII
        // fields, crypto-shredding (SEALING.md, KEYSTORE.md).
        .target(
            name: "SubjectKeys",
            dependencies: ["CareerEvents", "CCRC32C", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["SEALING.md", "KEYSTORE.md"]
        ),

        // Deterministic, realistic event histories for tests, benchmarks, demos.
        .target(name: "EventGenerator", dependencies: ["CareerEvents"]),

        // Everything that turns input lines into appended events.
        .target(
            name: "Ingest",
            dependencies: [
                "EventLog", "CareerEvents", "StoredEventCodec", "SubjectKeys", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Door/DOOR.md"]
        ),

        // A small libpq layer (connect, parameters, transactions, COPY, SQLSTATE
        // errors, reconnect) and the private cluster of the embedded default.
        .target(name: "Postgres", dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")]),

        // Tails the log into PostgreSQL read models; rebuilds and as-of builds.
        .target(
            name: "Projector",
            dependencies: [
                "EventLog", "CareerEvents", "StoredEventCodec", "SubjectKeys", "Postgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Analysts' replays: filters, the read planner, NDJSON/CSV writers, counts.
        .target(name: "Replay", dependencies: ["EventLog", "CareerEvents", "StoredEventCodec", "SubjectKeys"]),

        // The metric handles ingest, log and projector record through, and
        // their Prometheus exposition. Apart from `Window` so the hot paths
        // that record link swift-metrics and the registry, not an HTTP server.
        .target(
            name: "Telemetry",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // The HTTP window: /metrics, /healthz, /readyz, the dashboard and its
        // JSON API, `report --html`. Routes are injected, so it depends on no
        // other careerlog library but Telemetry.
        .target(
            name: "Window",
            dependencies: [
                "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // The analytics figures, read and rendered once for the command line
        // and the HTTP dashboard.
        .target(name: "Analytics", dependencies: ["Postgres", "StoredEventCodec"]),

        // A node's lifecycle: open and recover the log, dedupe, ingest, the
        // projector thread; one stop signal; the drain order.
        .target(
            name: "Runtime",
            dependencies: [
                "EventLog", "CareerEvents", "StoredEventCodec", "SubjectKeys", "Ingest", "Postgres", "Projector", "Replay", "Analytics", "Telemetry", "Window",
                .product(name: "Logging", package: "swift-log"),
                // IOError: to name the address when binding fails.
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // The command line: argument parsing and calls into the libraries.
        .executableTarget(
            name: "careerlog",
            dependencies: [
                "EventLog", "CareerEvents", "StoredEventCodec", "SubjectKeys", "EventGenerator", "Ingest", "Projector", "Postgres", "Replay",
                "Runtime", "Analytics", "Window", "Telemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Benchmarks (the figures of BENCHMARKS.md) and the crash tests' debug commands.
        .executableTarget(
            name: "careerlog-bench",
            dependencies: [
                "EventLog", "CareerEvents", "StoredEventCodec", "SubjectKeys", "EventGenerator", "Ingest", "Projector", "Postgres", "Runtime", "Telemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // What the test targets share: one shared-testdata locator, one
        // SplitMix, one waitUntil, one temporary directory, one test
        // PostgreSQL cluster, one recording log handler.
        .target(name: "TestSupport", dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport"),

        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "TestSupport"], resources: [.copy("Golden")]),
        .testTarget(name: "CareerEventsTests", dependencies: ["CareerEvents", "TestSupport"]),
        .testTarget(name: "SubjectKeysTests", dependencies: [
            "SubjectKeys", "CareerEvents", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "EventGeneratorTests", dependencies: ["EventGenerator", "CareerEvents"]),
        .testTarget(name: "IngestTests", dependencies: [
            "TestSupport", "Ingest", "EventLog", "CareerEvents", "StoredEventCodec", "EventGenerator", "Telemetry",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A real private PostgreSQL cluster per test process (no mocks).
        .testTarget(name: "PostgresTests", dependencies: ["TestSupport", "Postgres", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ProjectorTests", dependencies: [
            "TestSupport", "Runtime",
            "Projector", "Postgres", "EventLog", "CareerEvents", "StoredEventCodec", "EventGenerator",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Real sockets, a real Prometheus text parser (Python prometheus_client)
        // and a real headless Chromium over the DevTools protocol.
        .testTarget(
            name: "WindowTests",
            dependencies: [
                "Window", "Telemetry", "TestSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Helpers"]
        ),
        .testTarget(name: "AnalyticsTests", dependencies: ["TestSupport", "Analytics", "Postgres", "CareerEvents"]),
        .testTarget(name: "StoredEventCodecTests", dependencies: ["StoredEventCodec", "EventLog", "CareerEvents", "EventGenerator"]),
        .testTarget(name: "ReplayTests", dependencies: ["TestSupport", "Replay", "EventLog", "CareerEvents", "StoredEventCodec"]),
        // In-process nodes over real sockets and a real data directory.
        .testTarget(name: "RuntimeTests", dependencies: [
            "TestSupport",
            "Runtime", "EventLog", "CareerEvents", "Ingest", "Postgres", "Projector", "EventGenerator", "Telemetry",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Real processes and files: the careerlog binaries as a user runs them.
        .testTarget(name: "IntegrationTests", dependencies: [
            "TestSupport",
            "careerlog", "careerlog-bench", "EventLog", "CareerEvents", "EventGenerator", "Ingest", "Postgres",
        ]),
    ]
)
