#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `<kubeconfig>.lock` file that kubectl and every client-go tool honour.
///
/// client-go's protocol: create `<file>.lock` with O_CREATE|O_EXCL, write the kubeconfig, remove the
/// lock; no flock, nothing written inside. Holding a lock is the file's existence, so edgeup does the
/// same. Where client-go fails at once when the lock exists, edgeup waits and retries until a timeout —
/// kubectl holds the lock for milliseconds and concurrent edgeup runs should queue, not fail.
///
/// A lock that outlives the timeout is reported, never broken: client-go's lock file carries no owner
/// or process id, so no age proves its holder is gone, and deleting a live lock is how two writers
/// corrupt a file. The error names the lock file, says how old it is and how to remove it by hand.
/// The one exception is a lock edgeup itself wrote (it puts its pid and host inside; client-go ignores
/// the content) whose process is gone on this host: an edgeup killed mid-write (SIGKILL, OOM) would
/// otherwise block every later run until someone removed the file by hand.
struct KubeconfigLock {
    let path: String

    static func path(for file: String) -> String { file + ".lock" }

    /// Waits for the lock on `file`; its folder must exist.
    static func acquire(for file: String, timeout: Duration) async throws(KubeconfigError) -> KubeconfigLock {
        let path = path(for: file)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(10)
        while true {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                let owner = Array(ownerRecord.utf8)
                _ = owner.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                return KubeconfigLock(path: path)
            }
            let code = errno
            guard code == EEXIST else {
                throw KubeconfigError(
                    .writeFailed, path: file, "cannot create the lock file \(path): \(String(cString: strerror(code)))")
            }
            if removeIfOwnerIsGone(path) { continue }
            guard clock.now < deadline else { throw timedOut(file: file, lock: path, after: timeout) }
            // Short at first (kubectl is quick), then backing off so waiting runs do not spin.
            try? await Task.sleep(for: min(pause, deadline - clock.now))
            pause = min(pause * 2, .milliseconds(200))
        }
    }

    func release() {
        unlink(path)
    }

    /// What edgeup writes into its lock file: enough to prove later that its writer is gone.
    static var ownerRecord: String { "edgeup pid=\(getpid()) host=\(hostName)\n" }

    private static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes `path` when it is an edgeup lock from this host whose process no longer exists. The
    /// lock is first renamed aside and its content checked again, so a fresh lock that replaced the
    /// stale one in between is put back rather than deleted.
    static func removeIfOwnerIsGone(_ path: String) -> Bool {
        guard let content = contents(of: path), let pid = deadOwner(content) else { return false }
        let aside = path + ".stale-\(getpid())"
        guard rename(path, aside) == 0 else { return false }
        guard contents(of: aside) == content, kill(pid, 0) != 0 else {
            _ = link(aside, path)
            unlink(aside)
            return false
        }
        unlink(aside)
        return true
    }

    /// The pid of an edgeup lock written on this host by a process that is gone; nil otherwise.
    static func deadOwner(_ content: String) -> pid_t? {
        var fields: [String: String] = [:]
        let words = content.split(whereSeparator: \.isWhitespace)
        guard words.first == "edgeup" else { return nil }
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard let pid = fields["pid"].flatMap({ pid_t($0) }), pid > 0, fields["host"] == hostName else { return nil }
        return kill(pid, 0) != 0 && errno == ESRCH ? pid : nil
    }

    private static func contents(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return count >= 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
    }

    private static func timedOut(file: String, lock: String, after timeout: Duration) -> KubeconfigError {
        var age = ""
        var info = stat()
        if stat(lock, &info) == 0 {
            let seconds = Int(time(nil)) - Int(info.st_mtime_seconds)
            age = " (created \(seconds) s ago)"
        }
        return KubeconfigError(
            .locked, path: file,
            "the kubeconfig is locked: \(lock) still exists\(age) after waiting \(timeout)",
            hint: "kubectl or another edgeup is writing it; if none is running, the lock is stale: rm \(lock)")
    }
}

extension stat {
    /// Modification time in seconds: the field is spelled differently on Linux and macOS.
    fileprivate var st_mtime_seconds: Int {
        #if canImport(Darwin)
        Int(st_mtimespec.tv_sec)
        #else
        Int(st_mtim.tv_sec)
        #endif
    }
}
