// swift-tools-version:6.0
import PackageDescription

// Modules depend one way only: RISCV (hardware) <- XV6 (kernel) <- Scenario <- Run <- the tools
// (Goldens, Explore, Cosim, HTMLReport, side by side) <- xv6vm (command line); Support under
// them all.
// Cosim is three targets, one way too: CosimLog <- CosimLeaks, CosimLog <- LogReplay.

// The simulator is optimised in debug builds too: the test suite runs every scenario,
// some of which make 10^5 allocations, and unoptimised Swift is 20 to 50 times slower.
// Exclusivity is checked at compile time; the dynamic checks cost a fifth of the run time.
let optimised: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"]),
]
// Code that only drives the optimised modules (the command line, Goldens, Explore, the tests' own
// 9,200 lines) is compiled without optimisation, in release builds too.
let unoptimised: [SwiftSetting] = [.unsafeFlags(["-Onone"])]

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
        // Goldens (check, bless, plot) and Explore (sweep, shrink) are compiled without
        // optimisation: they start runs and read their records, and the runs are in the optimised
        // modules they call. Optimised they took 5.5-7.7 and 12.6-15.7 s of one core,
        // unoptimised 1.7-1.9 and 2.3-2.8 s (release, a 2-core AMD EPYC, where a clean build
        // keeps both cores busy to its end); instructions (callgrind): check +0.8 %, a plot of
        // reparent2 +3.0 %, a shrink of reparent2-root-only +2.1 %, a 200-run sweep of reparent2
        // +0.4 %. That sweep's time followed where the linker put RISCV's snapshot loops, after
        // these modules: 1.00, 1.08 and 1.14 with a loop 0, 32 or 48 bytes into a cache line, so
        // PhysicalMemory passes over pages with no slot eight at a time (see forEachSlot).
        .target(name: "Goldens", dependencies: ["Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Goldens", swiftSettings: unoptimised),
        .target(name: "Explore", dependencies: ["Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Explore", swiftSettings: unoptimised),
        // Cosim, a kernel's log against the model, is three targets that compile side by side
        // (as one module, 7,000 lines, it took 29 s of one core, alone at the end of a build).
        // Log (reading probes) needs no scenario or run, so it compiles beside Scenario, and
        // Leaks (the log read alone) beside Scenario and Run. Import and Replay stay one module:
        // replay needs the importer, so as two they would still compile one after the other, and
        // the probes' window that replay reads a million times would be a call into another
        // module (a reparent2 replay: 3.7 % more instructions). Log's API is public, not
        // package: Swift 6.3 inlines and specialises across modules only public declarations.
        .target(name: "CosimLog", dependencies: ["Support", "XV6", "RISCV"], path: "Sources/Tools/Cosim/Log", swiftSettings: optimised),
        .target(name: "CosimLeaks", dependencies: ["CosimLog", "Support", "XV6", "RISCV"], path: "Sources/Tools/Cosim/Leaks", swiftSettings: optimised),
        // Import and Replay are named LogReplay, not Cosim, for the build's order. SwiftPM's
        // llbuild starts, of the jobs ready, the one whose name sorts last: when Run is built,
        // the four tools are ready and two cores take two. As "Cosim" (first by name) the
        // largest of them (21.6 s of one core) started last and ended the build alone, the
        // other core idle; "LogReplay" sorts after Goldens and Explore. The report's module is
        // HTMLReport, not Report, for the same reason: when Run is built, ArgumentParser (22 s of
        // one core) often holds the other core, and as "Report" it took the free one first,
        // leaving LogReplay to end the build alone.
        .target(name: "LogReplay", dependencies: ["CosimLog", "Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Cosim", exclude: ["Log", "Leaks"], swiftSettings: optimised),
        // HTMLReport stays optimised: unoptimised, a report of reparent2 took 3.86 s, not 0.98 s.
        .target(name: "HTMLReport", dependencies: ["Run", "Scenario", "Support", "XV6", "RISCV"], path: "Sources/Tools/Report", swiftSettings: optimised),
        // The command line is compiled without optimisation: it parses arguments and prints,
        // and the work runs in the optimised modules it calls. Optimised, it took 11.5 s of
        // one core, the last step of a build and alone; unoptimised 3.4 s. Instructions
        // (callgrind): check 49.83 G -> 49.86 G, a reparent2 replay 2.565 G -> 2.567 G; a
        // command costs about 1.6 M more (parsing its arguments).
        .executableTarget(name: "xv6vm", dependencies: [
            "Goldens", "Explore", "CosimLog", "CosimLeaks", "LogReplay", "HTMLReport", "Run", "Scenario", "Support", "XV6", "RISCV",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: unoptimised),
        // The command's tests are CommandTests, not xv6vmTests, for the same order: a lowercase
        // name sorts after every other, so the smallest tests went first and ToolsTests (5,600
        // lines, the longest to compile) waited for a free core.
        .testTarget(name: "RISCVTests", dependencies: ["RISCV"], swiftSettings: unoptimised),
        .testTarget(name: "XV6Tests", dependencies: ["XV6", "RISCV"], swiftSettings: unoptimised),
        .testTarget(name: "ToolsTests", dependencies: ["Goldens", "Explore", "CosimLog", "CosimLeaks", "LogReplay", "HTMLReport", "Run", "Scenario", "Support", "XV6", "RISCV"], swiftSettings: unoptimised),
        .testTarget(name: "CommandTests", dependencies: ["xv6vm", "Goldens", "Explore", "CosimLog", "CosimLeaks", "LogReplay", "HTMLReport", "Run", "Scenario", "Support", "XV6", "RISCV"], swiftSettings: unoptimised),
    ]
)
