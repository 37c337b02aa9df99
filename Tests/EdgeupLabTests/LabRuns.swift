import EdgeupTestSupport
import Foundation

/// Running edgeup in the background against a lab and following its run journal, for tests that
/// interrupt a run at a chosen step.
extension Lab {
    /// Starts edgeup in the background, its stderr in a file; `earlier` are the run folders before it.
    func startEdgeup(_ arguments: [String], env: [String: String]) throws
        -> (process: Process, stderr: String, earlier: Set<String>)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: edgeupExecutable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let stderr = directory + "/apply-\(UUID().uuidString.prefix(8)).err"
        _ = FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        process.standardInput = FileHandle.nullDevice
        let earlier = Set((try? FileManager.default.contentsOfDirectory(atPath: directory + "/state/runs")) ?? [])
        try process.run()
        return (process, stderr, earlier)
    }

    /// The journals of the runs not in `earlier`.
    func journalText(excluding earlier: Set<String>) throws -> String {
        let runs = Set((try? FileManager.default.contentsOfDirectory(atPath: directory + "/state/runs")) ?? [])
        return runs.subtracting(earlier).compactMap {
            try? String(contentsOfFile: "\(directory)/state/runs/\($0)/journal.jsonl", encoding: .utf8)
        }.joined(separator: "\n")
    }

    /// Waits (up to 2 minutes) until a new run has started `action` on `host`.
    func waitForStep(_ earlier: Set<String>, host: String, action: String) throws -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if try journalText(excluding: earlier).split(separator: "\n").contains(where: {
                $0.contains(#""host":"\#(host)""#) && $0.contains(#""kind":"step-started""#) && $0.contains(#""action":"\#(action)""#)
            }) {
                usleep(500_000)
                return true
            }
            usleep(50_000)
        }
        return false
    }
}
