#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operator's kubeconfig on disk: where it is, reading it, and replacing it so that it is never
/// left half-written or clobbered by a concurrent writer — under `<file>.lock` (`KubeconfigLock`), through
/// a temporary file in the same folder, fsync and rename, mode 0600.
public struct KubeconfigFile: Sendable, Hashable {
    /// The path as located: the lock is `<path>.lock`, as kubectl names it.
    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// The file kubectl would write: `--kubeconfig PATH`, else the first entry of `$KUBECONFIG`
    /// (a colon-separated list, whose first file wins when kubectl reads duplicate names — so entries
    /// written there take effect), else `~/.kube/config`. Environment and home are passed in for tests.
    public static func locate(
        flag: String?, environment: [String: String], homeDirectory: String, currentDirectory: String
    ) -> KubeconfigFile {
        let fromEnvironment = environment["KUBECONFIG"]?.split(separator: ":").first.map(String.init)
        let chosen = [flag, fromEnvironment].compactMap { $0 }.first { !$0.isEmpty } ?? "~/.kube/config"
        let expanded = chosen == "~" || chosen.hasPrefix("~/") ? homeDirectory + chosen.dropFirst() : chosen
        let resolver = PathResolver(homeDirectory: homeDirectory, currentDirectory: currentDirectory)
        return KubeconfigFile(path: resolver.absolute(expanded))
    }

    /// The file's text; nil when it does not exist. A file that exists but cannot be read is an error —
    /// never treated as empty, which would overwrite it.
    public func read() throws(KubeconfigError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw unreadable(String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw unreadable("not a regular file") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw unreadable(String(cString: strerror(errno)))
            }
            bytes += chunk[..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw unreadable("it is not UTF-8 text") }
        return text
    }

    /// Locks the file, merges the stores into what it holds now and writes the result if it changed.
    /// Reading under the lock is what lets concurrent runs merging different stores all land.
    public func merge(
        _ stores: [StoreKubeconfig], setCurrent: String? = nil, prune: KubeconfigPrune? = nil,
        lockTimeout: Duration = .seconds(10)
    ) async throws(KubeconfigError) -> KubeconfigMergeResult {
        try await locked(timeout: lockTimeout) { () throws(KubeconfigError) in
            let result = try KubeconfigMerger.merge(
                stores, into: try read(), path: path, setCurrent: setCurrent, prune: prune)
            if result.changed { try writeAtomically(result.text) }
            return result
        }
    }

    /// `--no-merge`: each store to its own `<directory>/<context>.yaml`, replaced whole. Returns the files.
    public static func writeSeparately(
        _ stores: [StoreKubeconfig], to directory: String, lockTimeout: Duration = .seconds(10)
    ) async throws(KubeconfigError) -> [KubeconfigFile] {
        var files: [KubeconfigFile] = []
        for store in stores {
            // The context names the file: only a DNS subdomain keeps it inside `directory`.
            if let problem = StoreKubeconfig.contextNameProblem(store.context) {
                throw KubeconfigError(
                    .invalidName, path: directory,
                    "store '\(store.owner.store)': context name '\(store.context)' \(problem); no file written for it",
                    hint: StoreKubeconfig.contextNameHint)
            }
            let file = KubeconfigFile(path: directory + "/" + store.context + ".yaml")
            try await file.locked(timeout: lockTimeout) { () throws(KubeconfigError) in
                try file.writeAtomically(store.yaml)
            }
            files.append(file)
        }
        return files
    }

    /// Runs `body` holding `<path>.lock`, creating the folder first (the lock lives beside the file).
    func locked<T>(timeout: Duration, _ body: () throws(KubeconfigError) -> T) async throws(KubeconfigError) -> T {
        try createFolder()
        let lock = try await KubeconfigLock.acquire(for: path, timeout: timeout)
        defer { lock.release() }
        return try body()
    }

    /// Replaces the file in one step: readers see the old file or the new one, never a partial write,
    /// and a crash leaves at worst a stray temporary file. A symlinked kubeconfig (dotfile managers)
    /// stays a symlink: the file it points to is replaced.
    func writeAtomically(_ text: String) throws(KubeconfigError) {
        let target = symlinkTarget() ?? path
        let folder = Self.folder(of: target)
        var template = Array("\(folder)/.\(Self.name(of: target)).edgeup-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw writeFailed("cannot create a temporary file in \(folder)") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do throws(KubeconfigError) {
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw writeFailed("cannot write \(temporary)")
                }
                bytes = bytes.dropFirst(written)
            }
            guard fchmod(fd, 0o600) == 0 else { throw writeFailed("cannot make \(temporary) private (0600)") }
            guard fsync(fd) == 0 else { throw writeFailed("cannot flush \(temporary) to disk") }
            closed = true
            guard close(fd) == 0 else { throw writeFailed("cannot write \(temporary)") }
            guard rename(temporary, target) == 0 else { throw writeFailed("cannot replace \(target)") }
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

    /// Creates missing folders 0700: a kubeconfig folder holds credentials.
    private func createFolder() throws(KubeconfigError) {
        let folder = Self.folder(of: path)
        var current = folder.hasPrefix("/") ? "" : "."
        for part in folder.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw writeFailed("cannot create the folder \(current)")
            }
        }
    }

    private func symlinkTarget() -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) else {
            return nil
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func name(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    private func unreadable(_ reason: String) -> KubeconfigError {
        KubeconfigError(
            .unreadable, path: path, "cannot read the kubeconfig: \(reason)",
            hint: "edgeup leaves it untouched; fix its permissions or pass another file with --kubeconfig")
    }

    private func writeFailed(_ message: String) -> KubeconfigError {
        KubeconfigError(
            .writeFailed, path: path, "\(message): \(String(cString: strerror(errno)))",
            hint: "the kubeconfig was not changed")
    }
}

/// POSIX read(2): `read` inside `KubeconfigFile` means its own method.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
