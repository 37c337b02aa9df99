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
                close(fd)
                return KubeconfigLock(path: path)
            }
            let code = errno
            guard code == EEXIST else {
                throw KubeconfigError(
                    .writeFailed, path: file, "cannot create the lock file \(path): \(String(cString: strerror(code)))")
            }
            guard clock.now < deadline else { throw timedOut(file: file, lock: path, after: timeout) }
            // Short at first (kubectl is quick), then backing off so waiting runs do not spin.
            try? await Task.sleep(for: min(pause, deadline - clock.now))
            pause = min(pause * 2, .milliseconds(200))
        }
    }

    func release() {
        unlink(path)
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
