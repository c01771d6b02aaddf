import Foundation
import XCTest

/// The project is found the way git finds a repository (issue 24, item 1): from each path
/// given, or the working directory, up to the first folder holding scenarios/.
final class ProjectTests: XCTestCase {
    /// PARENT/proj/scenarios/mine/boot.yaml, no goldens yet; returns PARENT.
    func parentOfProject() throws -> String {
        let dir = try scratchDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/proj/scenarios/mine", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CommandLineTests.root + "/scenarios/xv6-2020/boot.yaml",
                                         toPath: dir + "/proj/scenarios/mine/boot.yaml")
        return dir
    }

    func xv6vm(_ args: [String], in dir: String) throws -> CommandOutput {
        try runCommand(CommandLineTests.binary, args, in: dir)
    }

    /// A message folded to 80 columns, unfolded, after checking that it was folded.
    func unfolded(_ text: String) -> String {
        XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.count <= 80 }, text)
        return text.replacingOccurrences(of: "\n    ", with: " ")
    }

    func read(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }

    /// From the project's parent, `bless proj/scenarios/mine` writes proj/golden/mine/boot.trace
    /// and `check proj/scenarios/mine` compares with it (it said "missing golden").
    func testFromTheParentDirectoryBlessAndCheckUseTheProjectsGoldens() throws {
        let parent = try parentOfProject()
        let bless = try xv6vm(["bless", "proj/scenarios/mine"], in: parent)
        XCTAssertEqual(bless.status, 0, bless.stderr)
        XCTAssertEqual(bless.stdout, """
            wrote           proj/golden/mine/boot.trace (new, 342 lines)
            bless: 1 written, 0 unchanged, 0 scenario errors

            """)
        XCTAssertEqual(read(parent + "/proj/golden/mine/boot.trace"), read(CommandLineTests.root + "/golden/xv6-2020/boot.trace"))
        let check = try xv6vm(["check", "proj/scenarios/mine"], in: parent)
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.hasSuffix("1 scenario: 1 ok, 0 changed, 0 missing golden, 0 scenario errors\n"), check.stdout)
        // The project's folder itself stands for its scenarios/.
        let whole = try xv6vm(["check", "proj"], in: parent)
        XCTAssertEqual(whole.status, 0, whole.stdout + whole.stderr)
        XCTAssertTrue(whole.stdout.hasSuffix("1 scenario: 1 ok, 0 changed, 0 missing golden, 0 scenario errors\n"), whole.stdout)
    }

    /// From inside scenarios/mine, bare check, review and bless act on the whole project;
    /// paths are shown as typed from there (../../golden/...).
    func testFromASubdirectoryBareCommandsActOnTheWholeProject() throws {
        let parent = try parentOfProject()
        let sub = parent + "/proj/scenarios/mine"
        XCTAssertEqual(try xv6vm(["bless"], in: sub).stdout, """
            wrote           ../../golden/mine/boot.trace (new, 342 lines)
            bless: 1 written, 0 unchanged, 0 scenario errors

            """)
        try "kernel: {variant: xv6-2020}\nevents:\n  - userinit: init\n".write(toFile: sub + "/boot.yaml", atomically: true, encoding: .utf8)
        let check = try xv6vm(["check"], in: sub)
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.stdout.contains("changed         mine/boot.yaml"), check.stdout)
        XCTAssertNotNil(read(parent + "/proj/golden/mine/boot.trace.new"))
        let list = try xv6vm(["review", "--list"], in: sub)
        XCTAssertEqual(list.status, 0)
        XCTAssertTrue(list.stdout.hasPrefix("changed         ../../golden/mine/boot.trace.new:"), list.stdout)
        XCTAssertTrue(list.stdout.hasSuffix("1 pending: 1 changed, 0 new, 0 stale\n"), list.stdout)
        let accept = try xv6vm(["review", "--accept", "boot.yaml"], in: sub)
        XCTAssertEqual(accept.status, 0, accept.stderr)
        XCTAssertTrue(accept.stdout.hasSuffix("review: 1 accepted, 0 left\n"), accept.stdout)
        XCTAssertEqual(try xv6vm(["check"], in: sub).status, 0)
    }

    /// From an unrelated directory: a project named by its absolute path is found; bare
    /// commands, and a scenario in no project, say there is none and exit 66, each the same way.
    func testFromAnUnrelatedDirectoryNoProjectExits66InEveryCommand() throws {
        let parent = try parentOfProject()
        let elsewhere = try scratchDirectory(self)
        XCTAssertEqual(try xv6vm(["bless", parent + "/proj/scenarios/mine"], in: elsewhere).status, 0)
        let far = try xv6vm(["check", parent + "/proj/scenarios/mine/boot.yaml"], in: elsewhere)
        XCTAssertEqual(far.status, 0, far.stdout + far.stderr)
        let std = URL(fileURLWithPath: elsewhere).standardized.path
        let none = "no project here: neither \(std) nor any folder above it holds scenarios/ (a project is a folder with "
            + "scenarios/ and golden/ in it; run from inside one, or name its scenarios)\n"
        for command in ["check", "bless", "review", "bench"] {
            let r = try xv6vm([command], in: elsewhere)
            XCTAssertEqual(r.status, 66, command)
            XCTAssertEqual(r.stdout, "", command)
            XCTAssertEqual(unfolded(r.stderr), "xv6vm \(command): " + none, command)
        }
        try FileManager.default.copyItem(atPath: CommandLineTests.root + "/scenarios/xv6-2020/boot.yaml", toPath: elsewhere + "/x.yaml")
        let loose = "x.yaml is in no project: neither \(std) nor any folder above it holds scenarios/ "
            + "(goldens live in PROJECT/golden/, mirroring PROJECT/scenarios/)\n"
        for args in [["check", "x.yaml"], ["bless", "x.yaml"], ["review", "--accept", "x.yaml"],
                     ["shrink", "x.yaml", "--until", "golden", "-o", "small.yaml"]] {
            let r = try xv6vm(args, in: elsewhere)
            XCTAssertEqual(r.status, 66, args.joined(separator: " "))
            XCTAssertEqual(unfolded(r.stderr), "xv6vm \(args[0]): " + loose, args.joined(separator: " "))
        }
        XCTAssertNil(read(elsewhere + "/small.yaml"))
        XCTAssertNil(read(elsewhere + "/golden/x.trace"))
    }

    /// Paths in two projects are refused as bad usage, naming each project.
    func testPathsOfTwoProjectsAreRefused() throws {
        let parent = try parentOfProject()
        try FileManager.default.createDirectory(atPath: parent + "/other/scenarios", withIntermediateDirectories: true)
        let r = try xv6vm(["check", "proj/scenarios/mine", "other/scenarios"], in: parent)
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.hasPrefix("Error: these paths are in different projects: proj/scenarios/mine (in proj), "
                                         + "other/scenarios (in other); give the paths of one project at a time\nUsage: xv6vm check"), r.stderr)
    }
}
