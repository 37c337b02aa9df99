import Foundation

/// The fleet's progress as events arrive: what is done, failed, running and on which step.
/// A value, so the terminal view's rendering is a pure function of it.
public struct RunProgress: Sendable {
    public var total: Int
    public var done = 0
    public var failed = 0
    public var active: [String: String] = [:]
    public var startedAt: Date

    public init(total: Int, startedAt: Date = Date()) {
        self.total = total
        self.startedAt = startedAt
    }

    public mutating func apply(_ event: RunEvent) {
        guard let store = event.store else { return }
        switch event.kind {
        case .storeStarted:
            active[store] = "starting"
        case .stepStarted:
            active[store] = [event.host, event.action?.rawValue].compactMap { $0 }.joined(separator: " ")
        case .storeFinished:
            active[store] = nil
            if event.outcome == .failed { failed += 1 } else { done += 1 }
        default:
            break
        }
    }

    public var remaining: Int { max(0, total - done - failed) }

    /// `[########------------]  12/50 done · 1 failed · 37 left · ETA 2m10s` and the active stores.
    public func render(now: Date = Date(), width: Int = 24, maxActive: Int = 6) -> String {
        let finished = done + failed
        let filled = total == 0 ? width : width * finished / total
        var line = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
        line += "\(finished)/\(total) · \(done) converged · \(failed) failed · \(remaining) left"
        let elapsed = now.timeIntervalSince(startedAt)
        if finished > 0, remaining > 0 {
            line += " · ETA " + Self.duration(elapsed / Double(finished) * Double(remaining))
        }
        let running = active.sorted { $0.key < $1.key }
        var lines = [line]
        for (store, step) in running.prefix(maxActive) { lines.append("  \(store): \(step)") }
        if running.count > maxActive { lines.append("  … and \(running.count - maxActive) more") }
        return lines.joined(separator: "\n")
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", total / 60 % 60))m"
    }
}

/// Prints run events the way the output calls for: a live view on a terminal, timestamped plain
/// lines in CI logs, or JSON lines for machines.
public final class RunReporter: @unchecked Sendable {
    public enum Mode: Sendable {
        case live
        case plain
        case json
    }

    private let mode: Mode
    private let style: TerminalStyle
    private let lock = NSLock()
    private var progress: RunProgress
    private var drawnLines = 0
    private var lastDraw = Date.distantPast
    private let write: @Sendable (String) -> Void

    public init(mode: Mode, style: TerminalStyle, total: Int, write: @escaping @Sendable (String) -> Void) {
        self.mode = mode
        self.style = style
        progress = RunProgress(total: total)
        self.write = write
    }

    public func handle(_ event: RunEvent) {
        lock.withLock {
            progress.apply(event)
            switch mode {
            case .json:
                write(event.jsonLine + "\n")
            case .plain:
                if event.kind != .output { write(event.plainLine + "\n") }
            case .live:
                if event.kind == .storeFinished, event.outcome == .failed {
                    clear()
                    write(style.red("✗ \(event.store ?? "?")") + " " + (event.message?.split(separator: "\n").first.map(String.init) ?? "failed") + "\n")
                }
                if Date().timeIntervalSince(lastDraw) > 0.1 || event.kind == .storeFinished { draw() }
            }
        }
    }

    /// Removes the live view before the final summary.
    public func finish() {
        lock.withLock { if mode == .live { clear() } }
    }

    private func draw() {
        clear()
        let text = progress.render()
        write(text + "\n")
        drawnLines = text.split(separator: "\n", omittingEmptySubsequences: false).count
        lastDraw = Date()
    }

    private func clear() {
        guard drawnLines > 0 else { return }
        write(String(repeating: "\u{1B}[1A\u{1B}[2K", count: drawnLines))
        drawnLines = 0
    }
}
