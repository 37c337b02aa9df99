import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operator's local files that hold credentials, remote output or hashes (kubeconfigs, the run
/// journal and host logs, store states, saved plans, JUnit reports): mode 0600 whatever the umask,
/// folders edgeup creates 0700, and a file that exists with wider permissions is tightened when
/// edgeup writes it again.
public enum PrivateFile {
    /// Replaces `path` in one step: a temporary file in the same folder (created 0600), fsync, rename,
    /// so readers see the old file or the new one and a crash leaves at worst a stray temporary file.
    /// A symlink stays a symlink (dotfile managers): the file it points to is replaced.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws(PrivateFileError) {
        let target = symlinkTarget(path) ?? path
        let folder = folder(of: target)
        var template = Array("\(folder)/.\(name(of: target)).edgeup-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw PrivateFileError(path: target, "cannot create a temporary file in \(folder)") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do throws(PrivateFileError) {
            var rest = Array(bytes)[...]
            while !rest.isEmpty {
                let written = rest.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw PrivateFileError(path: target, "cannot write \(temporary)")
                }
                rest = rest.dropFirst(written)
            }
            guard fchmod(fd, 0o600) == 0 else { throw PrivateFileError(path: target, "cannot make \(temporary) private (0600)") }
            guard fsync(fd) == 0 else { throw PrivateFileError(path: target, "cannot flush \(temporary) to disk") }
            closed = true
            guard close(fd) == 0 else { throw PrivateFileError(path: target, "cannot write \(temporary)") }
            guard rename(temporary, target) == 0 else { throw PrivateFileError(path: target, "cannot replace \(target)") }
        } catch {
            unlink(temporary)
            throw error
        }
        // The rename itself is durable only once the folder is flushed.
        let folderFD = open(folder, O_RDONLY | O_CLOEXEC)
        if folderFD >= 0 {
            fsync(folderFD)
            close(folderFD)
        }
    }

    /// `path` opened for appending: created 0600, or tightened to 0600 when it exists.
    public static func appending(_ path: String) throws(PrivateFileError) -> FileHandle {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PrivateFileError(path: path, "cannot open \(path) for appending") }
        guard fchmod(fd, 0o600) == 0 else {
            let error = PrivateFileError(path: path, "cannot make \(path) private (0600)")
            close(fd)
            throw error
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Creates the missing folders of `path`, each 0700. `tighten` also makes an existing `path`
    /// 0700: for folders that are edgeup's own (the state directory's), never for the operator's
    /// (`~/.kube`).
    public static func createFolders(_ path: String, tighten: Bool = false) throws(PrivateFileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw PrivateFileError(path: path, "cannot create the folder \(current)")
            }
        }
        if tighten && chmod(path, 0o700) != 0 {
            throw PrivateFileError(path: path, "cannot make the folder \(path) private (0700)")
        }
    }

    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func name(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    private static func symlinkTarget(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) else {
            return nil
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// POSIX write(2): `write` inside `PrivateFile` means its own method.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// A private file or folder could not be written: which, what failed, and the system's reason.
public struct PrivateFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String

    /// Takes `errno` now, where the failing call left it.
    init(path: String, _ what: String) {
        self.path = path
        message = "\(what): \(String(cString: strerror(errno)))"
    }

    public var description: String { message }
}
