// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "careerlog",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "careerlog", targets: ["careerlog"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "CareerEvents", targets: ["CareerEvents"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
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

        // The append-only segmented log: frames, LZ4, CRC32C, index, recovery.
        .target(name: "EventLog", dependencies: ["CLZ4"], exclude: ["FORMAT.md"]),

        // The event contract: JSON, envelope, schemas and the validator.
        .target(name: "CareerEvents"),

        // Where the contract meets the storage format: envelope <-> log event,
        // stored records back to NDJSON.
        .target(name: "LogCodec", dependencies: ["EventLog", "CareerEvents"]),

        // Deterministic, realistic event histories for tests, benchmarks, demos.
        .target(name: "EventGenerator", dependencies: ["CareerEvents"]),

        // Everything that turns input lines into appended events.
        .target(
            name: "Ingest",
            dependencies: [
                "EventLog", "CareerEvents", "LogCodec",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // A small libpq layer (connect, parameters, transactions, COPY, SQLSTATE
        // errors, reconnect) and the private cluster of the embedded default.
        .target(name: "Postgres", dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")]),

        // Tails the log into PostgreSQL read models; rebuilds and as-of builds.
        .target(
            name: "Projector",
            dependencies: [
                "EventLog", "CareerEvents", "LogCodec", "Postgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Analysts' replays: filters, the read planner, NDJSON/CSV writers, counts.
        .target(name: "Replay", dependencies: ["EventLog", "CareerEvents", "LogCodec"]),

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

        .executableTarget(
            name: "careerlog",
            dependencies: [
                "EventLog", "CareerEvents", "LogCodec", "EventGenerator", "Ingest", "Projector", "Postgres", "Replay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // What the test targets share: the shared-testdata locator (and, as they
        // move here, one SplitMix, one waitUntil, one temporary directory, one
        // test PostgreSQL cluster).
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "EventLogTests", dependencies: ["EventLog"]),
        .testTarget(name: "CareerEventsTests", dependencies: ["CareerEvents", "TestSupport"]),
        .testTarget(name: "EventGeneratorTests", dependencies: ["EventGenerator", "CareerEvents"]),
        .testTarget(name: "IngestTests", dependencies: [
            "Ingest", "EventLog", "CareerEvents", "LogCodec", "EventGenerator",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A real private PostgreSQL cluster per test process (no mocks).
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ProjectorTests", dependencies: [
            "Projector", "Postgres", "EventLog", "CareerEvents", "LogCodec", "EventGenerator",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Real sockets, a real Prometheus text parser (Python prometheus_client)
        // and a real headless Chromium over the DevTools protocol.
        .testTarget(
            name: "WindowTests",
            dependencies: [
                "Window", "Telemetry",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Helpers"]
        ),
        .testTarget(name: "ReplayTests", dependencies: ["Replay", "EventLog", "CareerEvents", "LogCodec"]),
        // Real processes and files: the careerlog binary as a user runs it.
        .testTarget(name: "IntegrationTests", dependencies: ["careerlog", "EventLog", "CareerEvents", "EventGenerator", "Ingest", "Postgres"]),
    ]
)
