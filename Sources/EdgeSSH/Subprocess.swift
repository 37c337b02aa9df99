import EdgeCore
import Foundation
#if os(Linux)
import CLibSSH2
#endif

/// A child process started with posix_spawn; its pipes are driven by the reactor, not threads.
final class ChildProcess: @unchecked Sendable {  // fds are used by one task at a time
    let pid: pid_t
    /// Parent ends, or -1 when that stream was redirected.
    var stdinFD: Int32
    let stdoutFD: Int32
    let stderrFD: Int32

    private init(pid: pid_t, stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32) {
        self.pid = pid
        self.stdinFD = stdinFD
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
    }

    enum Stdio {
        case pipe
        case null
        case file(String)
        case readFile(String)
        /// This process's own stream (an interactive `ssh` on the operator's terminal).
        case inherit
    }

    /// `files` are more descriptors the child gets: each `fd` of this process as `number`.
    static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdin: Stdio = .pipe, stdout: Stdio = .pipe, stderr: Stdio = .pipe, files: [(fd: Int32, number: Int32)] = []
    ) throws(OSError) -> ChildProcess {
        var parentEnds: [Int32] = [-1, -1, -1]
        var childEnds: [Int32] = [-1, -1, -1]
        defer { for fd in childEnds where fd >= 0 { close(fd) } }
        for (index, stdio) in [stdin, stdout, stderr].enumerated() {
            switch stdio {
            case .pipe:
                var ends: [Int32] = [0, 0]
                guard makePipe(&ends) else {
                    for fd in parentEnds where fd >= 0 { close(fd) }
                    throw OSError(errno)
                }
                parentEnds[index] = index == 0 ? ends[1] : ends[0]
                childEnds[index] = index == 0 ? ends[0] : ends[1]
                makeNonBlockingCloseOnExec(parentEnds[index])
            case .null:
                childEnds[index] = open("/dev/null", (index == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC)
            case .file(let path):
                childEnds[index] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            case .readFile(let path):
                childEnds[index] = open(path, O_RDONLY | O_CLOEXEC)
            case .inherit:
                // A close-on-exec copy, dup2'd into place like the others (and closed after).
                childEnds[index] = fcntl(Int32(index), F_DUPFD_CLOEXEC, 3)
            }
            if childEnds[index] < 0 {
                let code = errno
                for fd in parentEnds where fd >= 0 { close(fd) }
                throw OSError(code)
            }
        }

        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t?
        var attributes: posix_spawnattr_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        for (target, fd) in childEnds.enumerated() where fd >= 0 { posix_spawn_file_actions_adddup2(&actions, fd, Int32(target)) }
        for file in files { posix_spawn_file_actions_adddup2(&actions, file.fd, file.number) }
        // SIGPIPE is ignored in this process, and pool threads block most signals: the child
        // gets default dispositions and an empty mask, or it would ignore SIGTERM for good.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            for fd in parentEnds where fd >= 0 { close(fd) }
            throw OSError(rc)
        }
        return ChildProcess(pid: pid, stdinFD: parentEnds[0], stdoutFD: parentEnds[1], stderrFD: parentEnds[2])
    }

    private static func makePipe(_ ends: inout [Int32]) -> Bool {
        #if os(Linux)
        return edgeup_pipe_cloexec(&ends) == 0
        #else
        guard pipe(&ends) == 0 else { return false }
        makeNonBlockingCloseOnExec(ends[0])
        makeNonBlockingCloseOnExec(ends[1])
        return true
        #endif
    }

    func closeStdin() {
        if stdinFD >= 0 {
            close(stdinFD)
            stdinFD = -1
        }
    }

    /// Reaps the child; polls because a SIGCHLD handler would belong to the whole process.
    func waitForExit() async -> Int32 {
        var delay = Duration.milliseconds(1)
        while true {
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if rc < 0 && errno != EINTR { return -1 }
            // A cancelled task still reaps its child; it just stops sleeping cooperatively.
            if (try? await Task.sleep(for: delay)) == nil { usleep(1000) }
            delay = min(delay * 2, .milliseconds(50))
        }
    }

    func terminate(_ signal: Int32 = SIGTERM) { kill(pid, signal) }
}
