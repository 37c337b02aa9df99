import Foundation

/// known_hosts files parsed once per process and shared by every connection: each connection
/// then hands libssh2 only the few lines naming its host. libssh2 would otherwise keep the whole
/// file per session (~400 KB for 2,000 entries) and HMAC every hashed entry on each lookup.
final class KnownHostsIndex: Sendable {
    static let shared = KnownHostsIndex()

    private enum Names {
        case plain(Set<String>)
        case hashed(salt: [UInt8], hash: [UInt8])
    }

    private struct Entry {
        let line: String
        let names: Names
        let keyType: String
    }

    private struct File {
        let stamp: [Int]
        let entries: [Entry]
        var matches: [String: [Int]] = [:]
    }

    private let files = Locked([String: File]())

    /// The entries of `path` for `name` (exactly, as OpenSSH writes it: `[host]:port` off port 22):
    /// their lines, and their key types.
    func entries(for name: String, in path: String) -> [(line: String, keyType: String)] {
        let stamp = Self.stamp(path)
        var file = files.withLock { $0[path] }
        if file?.stamp != stamp {
            file = File(stamp: stamp, entries: Self.parse(path))
        }
        guard var file else { return [] }
        let indices: [Int]
        if let known = file.matches[name] {
            indices = known
        } else {
            // One HMAC per hashed entry, outside the lock so connections scan in parallel.
            let message = Array(name.utf8)
            indices = file.entries.indices.filter { i in
                switch file.entries[i].names {
                case .plain(let names): names.contains(name)
                case .hashed(let salt, let hash): SHA256Digest.hmacSHA1(key: salt, message: message) == hash
                }
            }
            file.matches[name] = indices
            let updated = file
            files.withLock { cache in
                if let current = cache[path], current.stamp == stamp {
                    cache[path]!.matches[name] = indices
                } else {
                    cache[path] = updated
                }
            }
        }
        return indices.map { (file.entries[$0].line, file.entries[$0].keyType) }
    }

    /// Changes whenever the file does (accept-new appends change size and mtime).
    private static func stamp(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        #if os(Linux)
        let modified = info.st_mtim
        #else
        let modified = info.st_mtimespec
        #endif
        return [Int(info.st_ino), Int(info.st_size), modified.tv_sec, modified.tv_nsec]
    }

    /// Marker lines (@cert-authority, @revoked) are skipped: libssh2 cannot use them.
    private static func parse(_ path: String) -> [Entry] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { raw in
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, !fields[0].hasPrefix("#"), !fields[0].hasPrefix("@") else { return nil }
            let hosts = fields[0]
            let names: Names
            if hosts.hasPrefix("|1|") {
                let parts = hosts.split(separator: "|")
                guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])), let hash = Data(base64Encoded: String(parts[2])) else { return nil }
                names = .hashed(salt: [UInt8](salt), hash: [UInt8](hash))
            } else {
                names = .plain(Set(hosts.split(separator: ",").map(String.init)))
            }
            return Entry(line: String(raw), names: names, keyType: String(fields[1]))
        }
    }
}
