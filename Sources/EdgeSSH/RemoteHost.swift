import EdgeCore
import Foundation

/// What a transport provides; `SSHRemoteHost` builds run, upload and download on it.
protocol TransportSession: Sendable {
    var hop: SSHHop { get }
    func exec(_ command: RemoteCommand, timeout: Duration) async throws(SSHError) -> CommandResult
    /// Writes a file readable only by the login user, in a folder only that user can write: from
    /// `offset` on when the transport can resume (the bytes before it are already there), else
    /// all of it. Returns the bytes sent.
    func writeFile(_ source: UploadSource, to path: String, from offset: Int, pacing: UploadPacing, chunkTimeout: Duration) async throws(SSHError) -> Int
    func close() async
}

extension LibSSH2Connection: TransportSession {}

enum UploadSource: Sendable {
    case file(String)
    case data(Data)

    /// Reads from byte `offset` on.
    func reader(hop: String, from offset: Int = 0) throws(SSHError) -> UploadReader {
        switch self {
        case .data(let data): return UploadReader(data: data, from: offset)
        case .file(let path):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
                let reason = errnoText()
                if fd >= 0 { close(fd) }
                throw SSHError(.transfer, hop: hop, step: .upload, "cannot read local file \(path): \(reason)")
            }
            return UploadReader(fd: fd, path: path)
        }
    }

    func size(hop: String) throws(SSHError) -> Int {
        switch self {
        case .data(let data): return data.count
        case .file(let path):
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw SSHError(.transfer, hop: hop, step: .upload, "cannot read local file \(path): \(errnoText())")
            }
            return Int(info.st_size)
        }
    }

    /// The whole content (for small sources: see `SSHRemoteHost.inlineLimit`).
    func contents(hop: String) throws(SSHError) -> Data {
        switch self {
        case .data(let data): return data
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SSHError(.transfer, hop: hop, step: .upload, "cannot read local file \(path)")
            }
            return data
        }
    }
}

/// Sequential reads from a local file or in-memory data.
final class UploadReader {
    private let fd: Int32
    private let path: String
    private let data: Data
    private var offset = 0

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        data = Data()
    }

    init(data: Data, from offset: Int = 0) {
        fd = -1
        path = ""
        self.data = data
        self.offset = min(offset, data.count)
    }

    deinit { if fd >= 0 { close(fd) } }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SSHError) -> Int {
        if fd < 0 {
            let n = min(buffer.count, data.count - offset)
            data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
        while true {
            let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR {
                throw SSHError(.transfer, hop: "local", step: .upload, "cannot read local file \(path): \(errnoText())")
            }
        }
    }
}

/// The `RemoteHost` both transports share: sudo wrapping, checksums, atomic writes, downloads.
final class SSHRemoteHost: RemoteHost {
    let session: any TransportSession
    private let limits: CommandLimits
    private let released = Locked(false)
    /// Set when a command timed out: the connection was closed, later operations fail with it.
    private let abandoned = Locked<SSHError?>(nil)
    private let onClose: @Sendable () -> Void
    /// The upload rate limits this host's uploads answer to.
    let pacing: UploadPacing
    /// Told the bytes each upload sent.
    private let onUpload: @Sendable (Int) -> Void

    /// How long a command may run.
    struct CommandLimits: Sendable {
        /// The operator's limit (`--command-timeout`): replaces every command's own.
        var operatorLimit: Duration?
        /// For commands that set none.
        var fallback: Duration

        func limit(for command: Duration?) -> Duration { operatorLimit ?? command ?? fallback }
    }

    init(
        session: any TransportSession, limits: CommandLimits, pacing: UploadPacing = UploadPacing(),
        onUpload: @escaping @Sendable (Int) -> Void = { _ in }, onClose: @escaping @Sendable () -> Void
    ) {
        self.session = session
        self.limits = limits
        self.pacing = pacing
        self.onUpload = onUpload
        self.onClose = onClose
    }

    var label: String { session.hop.label }
    var transport: SSHTransportKind { session.hop.transport }

    /// A command that timed out closes the connection: on a dead host it would only stall every
    /// later step, and closing it is what stops the command on a live one (see `ExecState`).
    func run(_ command: RemoteCommand) async throws(SSHError) -> CommandResult {
        try await run(command, timeout: limits.limit(for: command.timeout))
    }

    /// `timeout` is final: edgeup's own helpers (a write sized by its file, a cleanup) set theirs.
    private func run(_ command: RemoteCommand, timeout: Duration) async throws(SSHError) -> CommandResult {
        if let earlier = abandoned.withLock({ $0 }) {
            throw SSHError(.timeout, hop: label, step: earlier.step,
                           "not run: the connection was closed when an earlier command timed out (\(earlier.message))",
                           hint: earlier.hint)
        }
        do throws(SSHError) {
            return try await session.exec(command, timeout: timeout)
        } catch where error.kind == .timeout {
            abandoned.withLock { $0 = $0 ?? error }
            await close()
            throw error
        }
    }

    func upload(file: String, to remotePath: String, mode: UInt16, sudo: SudoMode) async throws(SSHError) -> UploadOutcome {
        try await counted(upload(.file(file), to: remotePath, mode: mode, sudo: sudo))
    }

    func upload(data: Data, to remotePath: String, mode: UInt16, sudo: SudoMode) async throws(SSHError) -> UploadOutcome {
        try await counted(upload(.data(data), to: remotePath, mode: mode, sudo: sudo))
    }

    private func counted(_ outcome: UploadOutcome) -> UploadOutcome {
        if case let .uploaded(bytes) = outcome { onUpload(bytes) }
        return outcome
    }

    /// Content up to this size goes on the placing command's stdin; larger content is staged
    /// first with the transport's bulk write (SFTP for libssh2).
    static let inlineLimit = 64 << 10
    /// Skips the transfer when the remote sha256 matches. Otherwise the content lands in a temp
    /// file in the target's own folder (same filesystem: the rename is atomic), is checked for
    /// size, fsynced, given its mode (and root ownership under sudo) and renamed into place, so a
    /// kill or power cut leaves either the old file or the new one. A write that fails removes its
    /// temp file; one killed with edgeup leaves it for the next write of that target to remove
    /// (`.edgeup-write.<name>.*`, a name only edgeup uses).
    ///
    /// Large content is first staged as `<sha256>.partial` in the login user's own 0700 folder
    /// (`stagingScript`): a transfer cut short leaves what arrived there, and the next upload of
    /// the same content sends only the rest. Nothing uses a staged file until its SHA-256 is the
    /// content's; one that is not is removed and sent again once. Partials untouched for a day are
    /// swept by the next large upload.
    private func upload(_ source: UploadSource, to remotePath: String, mode: UInt16, sudo: SudoMode) async throws(SSHError) -> UploadOutcome {
        let octal = String(mode & 0o7777, radix: 8)
        // Hash the local side on its own thread while the remote side hashes its copy.
        let hashing = Task { await Self.digest(of: source, hop: label) }
        let probe = ShellQuote.command(["sh", "-c", #"if [ -f "$1" ]; then sha256sum -- "$1" && stat -c %a -- "$1"; fi"#, "edgeup", remotePath])
        let current = try await step(.upload, "checking \(remotePath)", RemoteCommand(probe, sudo: sudo))
        let lines = current.stdoutText.split(separator: "\n")
        // No remote file, nothing to compare: a first upload does not wait for the local hash.
        if lines.count >= 2, try await hashing.value.get() == lines[0].prefix(64) {
            if UInt16(lines[1], radix: 8) != mode & 0o7777 {
                _ = try await step(.upload, "setting the mode of \(remotePath)", RemoteCommand(ShellQuote.command(["chmod", octal, "--", remotePath]), sudo: sudo))
            }
            return .unchanged
        }

        let place = try WritePlacement(remotePath, hop: label)
        let size = try source.size(hop: label)
        func placing(staged: String, sha256: String, stdin: Data?) -> RemoteCommand {
            let argv = ["sh", "-c", Self.placingScript, "edgeup", remotePath, place.temp, place.leftovers, String(size), octal,
                        sudo == .none ? "login" : "root", place.folder, staged, sha256]
            return RemoteCommand(ShellQuote.command(argv), stdin: stdin, sudo: sudo)
        }
        // At least 1 MiB/s on top of the command limit: a large file is bounded by its progress.
        let limit = limits.limit(for: nil) + .seconds(size >> 20)
        guard size > Self.inlineLimit else {
            _ = try await step(.upload, "writing \(remotePath)", placing(staged: "-", sha256: "-", stdin: try source.contents(hop: label)), timeout: limit)
            return .uploaded(bytes: size)
        }
        let sha256 = try await hashing.value.get()
        var sent = 0
        for attempt in 1...2 {
            let staging = try await step(.upload, "staging \(remotePath)", UploadStaging.command(sha256: sha256, size: size))
            guard let (staged, present) = UploadStaging.parse(staging.stdoutText) else {
                throw SSHError(.transfer, hop: label, step: .upload, "staging \(remotePath): unexpected answer from the host")
            }
            if present < size {
                sent += try await session.writeFile(source, to: staged, from: present, pacing: pacing, chunkTimeout: limits.limit(for: nil))
            }
            let result = try await run(placing(staged: staged, sha256: sha256, stdin: nil), timeout: limit)
            if result.succeeded { return .uploaded(bytes: sent) }
            // 65: the staged copy was not the content (the script removed it); send it whole once more.
            guard result.exitStatus == 65, attempt == 1 else {
                let said = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
                throw SSHError(.transfer, hop: label, step: .upload, "writing \(remotePath) failed: \(said.isEmpty ? "exit \(result.exitStatus ?? -1)" : said)")
            }
        }
        throw SSHError(.transfer, hop: label, step: .upload, "writing \(remotePath): the staged copy did not match twice")
    }

    /// Puts content in place: `$1` target, `$2` temp beside it, `$3` leftovers' prefix, `$4` size,
    /// `$5` mode, `$6` owner (root or login), `$7` folder, `$8` staged file (`-`: stdin), `$9` its
    /// SHA-256. Exit 65: the staged file was not that content, and is gone.
    static let placingScript = """
        set -e
        for old in "$3"*; do if [ "$old" != "$2" ] && [ -e "$old" ]; then rm -f -- "$old"; fi; done
        trap 'rm -f -- "$2"' EXIT
        trap 'exit 1' HUP INT TERM PIPE
        umask 077
        if [ "$8" = - ]; then
            cat > "$2"
        else
            if [ "$(sha256sum < "$8" | cut -d' ' -f1)" != "$9" ]; then rm -f -- "$8"; echo "the staged copy is not the file sent" >&2; exit 65; fi
            mv -f -- "$8" "$2"
        fi
        n=$(wc -c < "$2")
        if [ "$n" -ne "$4" ]; then echo "only $n of $4 bytes arrived" >&2; exit 1; fi
        sync -- "$2" 2>/dev/null || sync
        chmod "$5" -- "$2"
        if [ "$6" = root ]; then chown 0:0 -- "$2"; fi
        mv -f -- "$2" "$1"
        sync -- "$7" 2>/dev/null || :
        """

    private static func digest(of source: UploadSource, hop: String) async -> Result<String, SSHError> {
        switch source {
        case .data(let data): return .success(SHA256Digest.hex(data))
        case .file(let path):
            return await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    do throws(OSError) {
                        continuation.resume(returning: .success(try SHA256Digest.hexOfFile(path)))
                    } catch {
                        continuation.resume(returning: .failure(SSHError(.transfer, hop: hop, step: .upload, "cannot read local file \(path): \(errnoText(error.code))")))
                    }
                }
            }
        }
    }

    /// Small files only (configs, tokens, kubeconfigs); sudo reads root-only ones.
    func download(_ remotePath: String, sudo: SudoMode, maxBytes: Int) async throws(SSHError) -> Data {
        let command = ShellQuote.command(["head", "-c", String(maxBytes + 1), "--", remotePath])
        let result = try await step(.download, "reading \(remotePath)", RemoteCommand(command, sudo: sudo))
        guard result.stdout.count <= maxBytes else {
            throw SSHError(.transfer, hop: label, step: .download, "\(remotePath) is larger than \(maxBytes) bytes",
                           hint: "download is meant for small files; raise maxBytes if this one is expected")
        }
        return result.stdout
    }

    /// Runs a helper command whose failure is an error of `step`.
    private func step(_ step: SSHError.Step, _ what: String, _ command: RemoteCommand, timeout: Duration? = nil) async throws(SSHError) -> CommandResult {
        let result = try await run(command, timeout: timeout ?? limits.limit(for: command.timeout))
        guard result.succeeded else {
            let said = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            let hint: String? = switch command.sudo {
            case .none: "if the path needs root, pass a sudo mode"
            default: nil
            }
            throw SSHError(.transfer, hop: label, step: step, "\(what) failed: \(said.isEmpty ? "exit status \(result.exitStatus.map(String.init) ?? "none")" : said)", hint: hint)
        }
        return result
    }

    func close() async {
        guard release() else { return }
        await session.close()
        onClose()
    }

    /// A host dropped without `close()` still gives its connection slot back (the libssh2
    /// session frees itself; an OpenSSH master exits after ControlPersist).
    deinit { if release() { onClose() } }

    private func release() -> Bool {
        released.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
    }
}
