import Foundation

/// The outcome of a process the tests ran.
public struct ProcessRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// The repository's root folder (tests run from anywhere).
public let repositoryRoot = #filePath.components(separatedBy: "/Tests/")[0]

/// Runs an executable to completion, capturing both streams (read together: no pipe deadlock).
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil
) throws -> ProcessRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory ?? repositoryRoot)
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let out = folder.appendingPathComponent("out")
    let err = folder.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return ProcessRun(
        status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
        stderr: try String(contentsOf: err, encoding: .utf8))
}

/// The built `edgeup` binary, next to the test bundle in the build folder.
public var edgeupExecutable: String {
    let candidates = [
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("edgeup").path,
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("edgeup").path,
        repositoryRoot + "/.build/debug/edgeup",
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[2]
}

/// Runs edgeup as users and CI do.
public func edgeup(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> ProcessRun {
    try runProcess(edgeupExecutable, arguments, environment: environment, directory: directory)
}

/// A fresh, empty temporary folder.
public func temporaryFolder() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.path
}

/// Writes `text` to a new file in a fresh temporary folder and returns its path.
public func temporaryFile(_ text: String, name: String = "inventory.yaml") throws -> String {
    let path = (try temporaryFolder() as NSString).appendingPathComponent(name)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
