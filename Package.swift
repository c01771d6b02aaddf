// swift-tools-version:6.0
import PackageDescription

// Modules depend one way only: RISCV (hardware) <- XV6 (kernel) <- Scenario <- Run <- the tools
// (Goldens, Explore, Cosim, Report, side by side) <- xv6vm (command line); Support under them all.

// The simulator is optimised in debug builds too: the test suite runs every scenario,
// some of which make 10^5 allocations, and unoptimised Swift is 20 to 50 times slower.
// Exclusivity is checked at compile time; the dynamic checks cost a fifth of the run time.
let optimised: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"]),
]
// The tests' own code (9,200 lines) is compiled without optimisation: the work it
// asserts on runs in the optimised modules it calls.
let testCode: [SwiftSetting] = [.unsafeFlags(["-Onone"])]

let package = Package(
    name: "xv6vm",
    platforms: [.macOS(.v13)],
    // Only the command is a product. The modules are built with unsafe flags for speed, which
    // SwiftPM refuses in a versioned dependency, so they are not offered as a library.
    products: [
        .executable(name: "xv6vm", targets: ["xv6vm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "RISCV", swiftSettings: optimised),
        .target(name: "XV6", dependencies: ["RISCV"], swiftSettings: optimised),
        // The system's liblzma, for .xz kernel logs (Debian: liblzma-dev).
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"]), .brew(["xz"])]),
        // Below the kernel's users: files, text, JSON, liblzma. Nothing here knows xv6.
        .target(name: "Support", dependencies: ["CLZMA"], swiftSettings: optimised),
        // The data path: a scenario (the language) -> a run (its trace) -> the tools.
        .target(name: "Scenario", dependencies: ["Support", "XV6", "RISCV", .product(name: "Yams", package: "Yams")], swiftSettings: optimised),
        .target(name: "Run", dependencies: ["Scenario", "Support", "XV6", "RISCV"], swiftSettings: optimised),
        // The tools, side by side: none imports another.
        .target(name: "Goldens", dependencies: ["Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Goldens", swiftSettings: optimised),
        .target(name: "Explore", dependencies: ["Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Explore", swiftSettings: optimised),
        .target(name: "Cosim", dependencies: ["Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Cosim", swiftSettings: optimised),
        .target(name: "Report", dependencies: ["Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Report", swiftSettings: optimised),
        .executableTarget(name: "xv6vm", dependencies: [
            "Goldens", "Explore", "Cosim", "Report", "Run", "Scenario", "Support", "XV6", "RISCV",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "RISCVTests", dependencies: ["RISCV"], swiftSettings: testCode),
        .testTarget(name: "XV6Tests", dependencies: ["XV6", "RISCV"], swiftSettings: testCode),
        .testTarget(name: "ToolsTests", dependencies: ["Goldens", "Explore", "Cosim", "Report", "Run", "Scenario", "Support", "XV6", "RISCV"], swiftSettings: testCode),
        .testTarget(name: "xv6vmTests", dependencies: ["xv6vm", "Goldens", "Explore", "Cosim", "Report", "Run", "Scenario", "Support", "XV6", "RISCV"], swiftSettings: testCode),
    ]
)
