// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Candor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "candor", targets: ["candor"]),
        .library(name: "CandorServer", targets: ["CandorServer"]),
        .library(name: "CandorExplain", targets: ["CandorExplain"]),
        .library(name: "CandorModel", targets: ["CandorModel"]),
        .library(name: "CandorTensor", targets: ["CandorTensor"]),
        .library(name: "CandorImage", targets: ["CandorImage"]),
        .library(name: "CandorText", targets: ["CandorText"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // OpenBLAS (Debian: libopenblas-dev) for every GEMM-shaped product.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // glibc's mallopt, for the server's allocator tuning.
        .systemLibrary(name: "CGlibcMalloc"),
        // libpng (Debian: libpng-dev, which brings zlib1g-dev) and libjpeg (libjpeg-dev, i.e.
        // libjpeg-turbo) for decoding uploaded images and encoding heatmaps.
        .systemLibrary(
            name: "CLibPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CLibJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg-dev"])]
        ),
        // The setjmp/longjmp side of libpng and libjpeg, which Swift cannot call directly: plain
        // functions returning status codes and messages.
        .target(
            name: "CImageCodecs",
            dependencies: ["CLibPNG", "CLibJPEG"]
        ),
        // Text tokenizers read from a Hugging Face tokenizer.json (Foundation only).
        .target(
            name: "CandorText",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CandorImage",
            dependencies: ["CImageCodecs"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CandorTensor",
            dependencies: ["COpenBLAS"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CandorModel",
            dependencies: [
                "CandorTensor",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["ONNX/onnx-subset.proto"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CandorExplain",
            dependencies: ["CandorModel", "CandorTensor"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CandorServer",
            dependencies: [
                "CandorExplain",
                "CandorImage",
                "CandorModel",
                "CandorTensor",
                "CandorText",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "candor",
            dependencies: [
                "CGlibcMalloc",
                "CandorServer",
                "CandorExplain",
                "CandorModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fixture paths and numeric comparisons shared by the test targets.
        .target(
            name: "CandorTestSupport",
            dependencies: [
                "CandorExplain", "CandorModel", "CandorTensor", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/CandorTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CandorTensorTests",
            dependencies: ["CandorTensor", "CandorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CandorModelTests",
            dependencies: [
                "CandorModel", "CandorTensor", "CandorTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CandorExplainTests",
            dependencies: ["CandorExplain", "CandorModel", "CandorTensor", "CandorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CandorImageTests",
            dependencies: ["CandorImage", "CandorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CandorTextTests",
            dependencies: ["CandorText", "CandorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CandorServerTests",
            dependencies: [
                "CandorServer",
                "CandorImage",
                "CandorExplain",
                "CandorTensor",
                "CandorTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
