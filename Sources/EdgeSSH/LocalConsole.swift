import Dispatch
import Foundation

/// Signal handlers as Dispatch sources (the signals are ignored meanwhile, so only the sources see
/// them); `cancel()` gives the signals their default action back.
final class SignalWatch: @unchecked Sendable {  // sources are only cancelled, once
    private let signals: [Int32]
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }
}

/// The operator's side of an interactive session on the libssh2 transport: the terminal in raw
/// mode while a pseudo-terminal carries the keys, stdin arriving on a pipe the reactor can wait
/// on, and the signals that concern the session.
///
/// stdin is read by a thread of its own: a regular file or /dev/null cannot be waited on with
/// epoll, and making the shared terminal non-blocking would leave the operator's shell broken if
/// edgeup died before undoing it.
final class LocalConsole: @unchecked Sendable {  // mutable state sits behind `state`
    /// Read end of the stdin pipe (non-blocking); EOF once stdin ended.
    let input: Int32
    /// Read end of the pipe signals write a byte into (non-blocking), to wake the session.
    let control: Int32
    private let controlWrite: Int32
    private let stopWrite: Int32
    private let savedTerminal: termios?
    private let state = Locked(State())
    private var signals: SignalWatch?

    private struct State {
        var resized = false
        var interruptedBy: Int32?
        var ended = false
    }

    /// Signals that end the session; SIGINT arrives only without raw mode (^C is a byte in it).
    static let endingSignals = [SIGINT, SIGTERM, SIGHUP]

    private init(input: Int32, control: Int32, controlWrite: Int32, stopWrite: Int32, savedTerminal: termios?) {
        self.input = input
        self.control = control
        self.controlWrite = controlWrite
        self.stopWrite = stopWrite
        self.savedTerminal = savedTerminal
    }

    /// Starts reading stdin and watching signals; `rawTerminal`: puts a terminal stdin in raw mode
    /// (keys, ^C and ^Z included, go to the remote pseudo-terminal as bytes).
    static func start(rawTerminal: Bool, hop: String) throws(SSHError) -> LocalConsole {
        guard let inputPipe = makePipe(), let controlPipe = makePipe(), let stopPipe = makePipe() else {
            throw SSHError(.localProcess, hop: hop, step: .exec, "cannot create a pipe: \(errnoText())", hint: "raise the open-file limit (ulimit -n)")
        }
        makeNonBlockingCloseOnExec(inputPipe.read)
        makeNonBlockingCloseOnExec(controlPipe.read)
        makeNonBlockingCloseOnExec(controlPipe.write)
        var saved = termios()
        let raw = rawTerminal && isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0
        let console = LocalConsole(input: inputPipe.read, control: controlPipe.read, controlWrite: controlPipe.write,
                                   stopWrite: stopPipe.write, savedTerminal: raw ? saved : nil)
        if raw {
            var mode = saved
            cfmakeraw(&mode)
            tcsetattr(STDIN_FILENO, TCSADRAIN, &mode)
        }
        console.signals = SignalWatch(endingSignals + [SIGWINCH]) { [console] number in console.received(number) }
        let (pipeWrite, stopRead) = (inputPipe.write, stopPipe.read)
        Thread.detachNewThread { copyStdin(to: pipeWrite, until: stopRead) }
        return console
    }

    /// Whether the window changed since the last call.
    func takeResize() -> Bool {
        state.withLock { s in
            defer { s.resized = false }
            return s.resized
        }
    }

    /// The local signal that asked the session to end (SIGPIPE: stdout's reader went away).
    var interruptedBy: Int32? { state.withLock { $0.interruptedBy } }

    /// Empties the control pipe (its bytes only wake the session).
    func drainControl() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while read(control, &bytes, bytes.count) > 0 {}
    }

    /// Restores the terminal, stops the signal handlers and the stdin thread, closes the pipes.
    /// The caller makes the reactor forget `input` and `control` first.
    func end() {
        guard state.withLock({ s in
            defer { s.ended = true }
            return !s.ended
        }) else { return }
        restoreTerminal()
        signals?.cancel()
        var byte: UInt8 = 0
        _ = write(stopWrite, &byte, 1)
        // A thread blocked writing into a full input pipe gets EPIPE once its reader is closed.
        for fd in [input, control, controlWrite, stopWrite] { close(fd) }
    }

    private func restoreTerminal() {
        guard var saved = savedTerminal else { return }
        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved)
    }

    private func received(_ number: Int32) {
        let again = state.withLock { s -> Bool in
            if number == SIGWINCH {
                s.resized = true
                return false
            }
            defer { s.interruptedBy = s.interruptedBy ?? number }
            return s.interruptedBy != nil
        }
        if again {
            // The session did not wind down after the first: never leave the terminal raw.
            restoreTerminal()
            _exit(128 + number)
        }
        var byte: UInt8 = 1
        _ = write(controlWrite, &byte, 1)
    }

    /// The stdin thread: blocking reads, handed on through the pipe, until EOF or `stop` fires.
    private static func copyStdin(to pipe: Int32, until stop: Int32) {
        defer {
            close(pipe)
            close(stop)
        }
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0), pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, -1) >= 0 else {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let n = read(STDIN_FILENO, &buffer, buffer.count)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0, writeAll(pipe, buffer, count: n) else { return }
        }
    }

    /// Writes `data` for the operator: blocking, as exec's streamed output is, so a slow reader
    /// of stdout slows the remote side down through the channel's window. When the reader went
    /// away (`edgeup ssh … | head`) the session ends as a writer killed by SIGPIPE would.
    func emit(_ fd: Int32, _ data: Data) {
        guard !Self.writeAll(fd, [UInt8](data), count: data.count) else { return }
        state.withLock { $0.interruptedBy = $0.interruptedBy ?? SIGPIPE }
    }

    /// false when `fd` refuses the bytes (its reader is gone).
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, count - offset) }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EAGAIN {
                // An inherited non-blocking stdout: wait until it drains.
                var pending = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pending, 1, 100)
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// The local window (stdin's, else stdout's), 80×24 without a terminal.
    static func windowSize() -> (columns: Int32, rows: Int32) {
        var size = winsize()
        for fd in [STDIN_FILENO, STDOUT_FILENO] where ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 && size.ws_row > 0 {
            return (Int32(size.ws_col), Int32(size.ws_row))
        }
        return (80, 24)
    }

    /// A close-on-exec pipe; both ends blocking until told otherwise.
    private static func makePipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return nil }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }
}
