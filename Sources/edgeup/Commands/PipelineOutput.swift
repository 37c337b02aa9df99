import ArgumentParser
import EdgeupKit
import Foundation

/// Fact gathering on stderr: a progress line redrawn in place when `shown` (stderr is a
/// terminal), cleared before the SSH client's warnings.
struct FactsProgressLine: Sendable {
    var shown = stderrStyle.colors

    func handle(_ event: PipelineEvent) {
        switch event {
        case let .factsProgress(seen, total):
            if shown { printErrorInline("\u{1B}[2K\rgathering facts: \(seen)/\(total) hosts") }
        case let .warnings(warnings):
            if shown { printErrorInline("\u{1B}[2K\r") }
            printWarnings(warnings)
        default:
            break
        }
    }
}

/// An apply-like run on the terminal: fact gathering, the plan (unless `showsPlan` is off), the
/// run's events as `mode` says (JSON lines on stdout, else stderr) and signal notices.
final class RunView: @unchecked Sendable {
    private let mode: RunReporter.Mode
    private let facts: FactsProgressLine
    private let showsPlan: Bool
    private let lock = NSLock()
    private var reporter: RunReporter?

    init(mode: RunReporter.Mode, factsProgress: Bool, showsPlan: Bool) {
        self.mode = mode
        facts = FactsProgressLine(shown: factsProgress)
        self.showsPlan = showsPlan
    }

    func handle(_ event: PipelineEvent) {
        switch event {
        case .factsProgress, .warnings:
            facts.handle(event)
        case let .planned(plan):
            let mode = mode
            let reporter = RunReporter(mode: mode, style: stderrStyle, total: plan.stores.count) { text in
                (mode == .json ? FileHandle.standardOutput : FileHandle.standardError).write(Data(text.utf8))
            }
            lock.withLock { self.reporter = reporter }
            if showsPlan { printError(PlanText(style: stderrStyle).render(plan)) }
        case let .run(runEvent):
            lock.withLock { reporter }?.handle(runEvent)
        case let .interrupted(notice):
            printError("edgeup: \(notice)")
        case .output:
            break
        }
    }

    /// Removes the live view before the summary.
    func finish() {
        lock.withLock { reporter }?.finish()
    }
}

func printWarnings(_ warnings: [String]) {
    for warning in warnings { printError(stderrStyle.yellow(warning)) }
}

/// Runs an entry point: a `PipelineError` is printed on stderr and becomes the exit status.
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as any PipelineError {
        printError(error.message(style: stderrStyle))
        throw ExitCode(error.exitCode)
    }
}

/// Ends the command with `code` unless it is 0.
func exitIfFailed(_ code: Int32) throws {
    if code != 0 { throw ExitCode(code) }
}

extension StateDirectory {
    /// `$EDGEUP_STATE_DIR`, else ~/.local/state/edgeup.
    static var ofThisProcess: StateDirectory {
        .standard(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory())
    }
}
