// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "edgeup",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "edgeup", targets: ["edgeup"]),
        .library(name: "EdgeupKit", targets: ["EdgeupKit"]),
        .library(name: "EdgeSSH", targets: ["EdgeSSH"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // Playbook templates: logic-less, spec-compliant, Sendable.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.0"),
    ],
    targets: [
        // System libraries, found with pkg-config (Debian: libssh2-1-dev, libssl-dev).
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"]), .brew(["libssh2"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // The commit and date `make release` builds from, as -Xcc defines (plain builds: "unknown").
        .systemLibrary(name: "CEdgeupBuild"),
        // The pure core shared by all layers: SHA-256 digests, X.509 expiry, POSIX shell quoting, OSError.
        .target(name: "EdgeCore", dependencies: ["COpenSSL"]),
        // The SSH layer: only this module knows libssh2.
        .target(
            name: "EdgeSSH",
            dependencies: [
                "CLibSSH2",
                "COpenSSL",
                "EdgeCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The library: inventory (+ playbooks) → facts → plan → execution → report.
        .target(
            name: "EdgeupKit",
            dependencies: [
                "CEdgeupBuild",
                "EdgeCore",
                "EdgeSSH",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // The CLI: parses flags, calls EdgeupKit.
        .executableTarget(
            name: "edgeup",
            dependencies: [
                "EdgeupKit",
                "EdgeSSH",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // SSH layer benchmark, EdgeSSH vs plain ssh (Benchmarks/ssh/run.sh; root, Linux).
        .executableTarget(
            name: "edgeup-ssh-bench",
            dependencies: ["EdgeSSH"],
            path: "Benchmarks/ssh/Sources"
        ),
        .testTarget(name: "EdgeupKitTests", dependencies: ["EdgeupKit", "EdgeCore"]),
        // Shared by the test targets: running the built binary, bringing a lab up and down.
        .target(name: "EdgeupTestSupport", path: "Tests/Support"),
        // Runs the built `edgeup` binary: exit codes, stderr format, help text.
        .testTarget(name: "EdgeupCLITests", dependencies: ["edgeup", "EdgeupTestSupport"]),
        // edgeup against the lab (simulated fleet + k3s test double): root and Linux only.
        .testTarget(
            name: "EdgeupLabTests",
            dependencies: ["edgeup", "EdgeupTestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "EdgeSSHTests", dependencies: ["EdgeSSH", "EdgeCore"]),
    ],
    swiftLanguageModes: [.v6]
)
