#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operator's kubeconfig on disk: where it is, reading it, and replacing it so that it is never
/// left half-written or clobbered by a concurrent writer — under `<file>.lock` (`KubeconfigLock`), through
/// a temporary file in the same folder, fsync and rename, mode 0600 (`PrivateFile`).
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

    /// Locks the file and removes the stores' entries edgeup wrote (`KubeconfigMerger.removing`).
    public func remove(_ stores: [StoreKubeconfigName], lockTimeout: Duration = .seconds(10))
        async throws(KubeconfigError) -> KubeconfigMergeResult
    {
        try await locked(timeout: lockTimeout) { () throws(KubeconfigError) in
            let result = try KubeconfigMerger.removing(stores, from: try read(), path: path)
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

    /// Replaces the file in one step, 0600 (`PrivateFile.write`: temporary file, fsync, rename; a
    /// symlinked kubeconfig stays a symlink).
    func writeAtomically(_ text: String) throws(KubeconfigError) {
        do {
            try PrivateFile.write(Array(text.utf8), to: path)
        } catch {
            throw writeFailed(error)
        }
    }

    /// Creates missing folders 0700: a kubeconfig folder holds credentials. An existing one is the
    /// operator's and keeps its mode.
    private func createFolder() throws(KubeconfigError) {
        do {
            try PrivateFile.createFolders(PrivateFile.folder(of: path))
        } catch {
            throw writeFailed(error)
        }
    }

    private func unreadable(_ reason: String) -> KubeconfigError {
        KubeconfigError(
            .unreadable, path: path, "cannot read the kubeconfig: \(reason)",
            hint: "edgeup leaves it untouched; fix its permissions or pass another file with --kubeconfig")
    }

    private func writeFailed(_ error: PrivateFileError) -> KubeconfigError {
        KubeconfigError(.writeFailed, path: path, error.message, hint: "the kubeconfig was not changed")
    }
}

/// POSIX read(2): `read` inside `KubeconfigFile` means its own method.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
