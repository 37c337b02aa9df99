import EdgeSSH
import Foundation

/// One host's answer to `edgeup exec`.
public struct HostCommandResult: Sendable, Hashable, Codable {
    public var store: String
    public var host: String
    public var exitStatus: Int32?
    public var exitSignal: String?
    /// Why the command could not run (connect, auth, sudo, timeout); nil when it ran.
    public var error: String?
    public var stdout: String
    public var stderr: String
    public var seconds: Double

    public var succeeded: Bool { error == nil && exitStatus == 0 && exitSignal == nil }

    /// "exit 3", "signal TERM" or the error, for summaries.
    public var failureReason: String? {
        if let error { return error }
        if let exitSignal { return "killed by signal \(exitSignal)" }
        if let exitStatus, exitStatus != 0 { return "exit \(exitStatus)" }
        return nil
    }
}

public enum OutputStream: String, Sendable, Codable {
    case stdout
    case stderr
}

/// Runs one shell command on many hosts in parallel, streaming each host's output line by line.
public struct CommandFanOut: Sendable {
    public var session: FleetSession
    public var concurrency: Int

    /// The session's client sets how long the command may run (`SSHClientOptions`).
    public init(session: FleetSession, concurrency: Int = 100) {
        self.session = session
        self.concurrency = concurrency
    }

    public func run(
        _ command: String, on hosts: [StoreHost], sudo: Bool,
        onLine: (@Sendable (StoreHost, OutputStream, String) -> Void)? = nil
    ) async -> [HostCommandResult] {
        await fanOut(hosts, limit: concurrency) { target in
            await run(command, on: target, sudo: sudo, onLine: onLine)
        }
    }

    private func run(
        _ command: String, on target: StoreHost, sudo: Bool, onLine: (@Sendable (StoreHost, OutputStream, String) -> Void)?
    ) async -> HostCommandResult {
        let started = Date()
        var result = HostCommandResult(
            store: target.store.name, host: target.host.name, exitStatus: nil, exitSignal: nil, error: nil,
            stdout: "", stderr: "", seconds: 0)
        let lines = LineSplitter { stream, line in onLine?(target, stream, line) }
        do throws(SSHError) {
            let remote = try await session.connection(to: target.host, in: target.store)
            let mode: SudoMode = sudo ? try session.access.sudo(for: target.host, in: target.store) : .none
            let output = try await remote.run(RemoteCommand(command, sudo: mode) { chunk in
                switch chunk {
                case let .stdout(data): lines.feed(.stdout, data)
                case let .stderr(data): lines.feed(.stderr, data)
                }
            })
            lines.finish()
            result.exitStatus = output.exitStatus
            result.exitSignal = output.exitSignal
            result.stdout = output.stdoutText
            result.stderr = output.stderrText
        } catch {
            lines.finish()
            result.error = error.description(from: target.label)
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }
}

/// Splits streamed chunks into lines per stream; the last partial line is flushed at the end.
final class LineSplitter: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [OutputStream: Data] = [:]
    private let emit: @Sendable (OutputStream, String) -> Void

    init(emit: @escaping @Sendable (OutputStream, String) -> Void) {
        self.emit = emit
    }

    func feed(_ stream: OutputStream, _ data: Data) {
        let complete: [String] = lock.withLock {
            var buffer = pending[stream, default: Data()]
            buffer.append(data)
            var lines: [String] = []
            while let newline = buffer.firstIndex(of: 0x0A) {
                lines.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
            pending[stream] = buffer
            return lines
        }
        for line in complete { emit(stream, line) }
    }

    func finish() {
        let rest: [(OutputStream, String)] = lock.withLock {
            let remaining = pending.filter { !$0.value.isEmpty }.map { ($0.key, String(decoding: $0.value, as: UTF8.self)) }
            pending = [:]
            return remaining.sorted { $0.0.rawValue > $1.0.rawValue }
        }
        for (stream, line) in rest { emit(stream, line) }
    }
}
