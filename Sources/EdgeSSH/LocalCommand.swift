import EdgeCore
import Foundation

/// A local program run in the foreground on this process's terminal (kubectl for `edgeup kubectl`),
/// with secrets handed over in a file that exists only as an open descriptor.
public enum LocalCommand {
    /// Runs `executable` with this process's stdin, stdout and stderr and `files` as more
    /// descriptors (`number` in the child: path `/dev/fd/<number>`), each holding its text.
    /// The texts are written to files in /dev/shm (memory) that are unlinked before the child
    /// starts, so nothing is left on disk, whatever happens to either process. ^C and ^\ go to
    /// the child (the terminal's foreground group); this process waits for it. Returns the exit
    /// status, 128 + the signal for a child killed by one.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], files: [(text: String, number: Int32)]
    ) async throws(OSError) -> Int32 {
        var opened: [(fd: Int32, number: Int32)] = []
        defer { for file in opened { close(file.fd) } }
        for file in files {
            opened.append((try unlinkedFile(holding: file.text), file.number))
        }
        let previous = [SIGINT, SIGQUIT].map { ($0, signal($0, SIG_IGN)) }
        defer { for (number, handler) in previous { signal(number, handler) } }
        let child = try ChildProcess.spawn(
            executable, arguments, environment: environment, stdin: .inherit, stdout: .inherit, stderr: .inherit, files: opened)
        return await child.waitForExit()
    }

    private static func unlinkedFile(holding text: String) throws(OSError) -> Int32 {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array("\(folder)/edgeup-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw OSError(errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unlink(String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress!.advanced(by: offset), bytes.count - offset) }
            guard n > 0 else {
                let code = errno
                close(fd)
                throw OSError(code)
            }
            offset += n
        }
        return fd
    }
}
