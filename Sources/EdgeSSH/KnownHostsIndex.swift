import EdgeCore
import Foundation

/// known_hosts files parsed once per process and shared by every connection: each connection
/// then hands libssh2 only the few lines naming its host. libssh2 would otherwise keep the whole
/// file per session (~400 KB for 2,000 entries) and HMAC every hashed entry on each lookup.
final class KnownHostsIndex: Sendable {
    static let shared = KnownHostsIndex()

    fileprivate enum Names {
        case plain(Set<String>)
        case hashed(salt: [UInt8], hash: [UInt8])
        /// OpenSSH patterns (`*`, `?`, `!negated`), honoured on `@revoked` lines only.
        case patterns([String])
    }

    struct Entry {
        let line: String
        fileprivate let names: Names
        let keyType: String
        /// The key blob, base64 as in the file.
        let key: String
        /// An `@revoked` line: this key is refused for the matching hosts, whatever else matches.
        let revoked: Bool
    }

    private struct File {
        let stamp: [Int]
        let entries: [Entry]
        var matches: [String: [Int]] = [:]
    }

    private let files = Locked([String: File]())

    /// The entries of `path` for `name` (lowercase, as OpenSSH writes it: `[host]:port` off port 22,
    /// or a host key alias), and the `@revoked` entries whose patterns match it.
    func entries(for name: String, in path: String) -> [Entry] {
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
                case .patterns(let patterns): Self.matches(name, patterns)
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
        return indices.map { file.entries[$0] }
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

    /// `@revoked` lines are kept (marked); `@cert-authority` lines are skipped:
    /// libssh2 cannot check host certificates.
    private static func parse(_ path: String) -> [Entry] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { raw in
            var fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let revoked = fields.first == "@revoked"
            if revoked { fields.removeFirst() }
            guard fields.count >= 3, !fields[0].hasPrefix("#"), !fields[0].hasPrefix("@") else { return nil }
            let hosts = fields[0]
            var line = String(raw)
            let names: Names
            if hosts.hasPrefix("|1|") {
                let parts = hosts.split(separator: "|")
                guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])), let hash = Data(base64Encoded: String(parts[2])) else { return nil }
                names = .hashed(salt: [UInt8](salt), hash: [UInt8](hash))
            } else if revoked {
                names = .patterns(hosts.split(separator: ",").map(String.init))
            } else {
                // OpenSSH compares host names case-insensitively; libssh2 hands them to strcmp.
                names = .plain(Set(hosts.lowercased().split(separator: ",").map(String.init)))
                line = ([hosts.lowercased()] + fields.dropFirst().map(String.init)).joined(separator: " ")
            }
            return Entry(line: line, names: names, keyType: String(fields[1]), key: String(fields[2]), revoked: revoked)
        }
    }

    /// OpenSSH's rule for a pattern list: some pattern matches and no negated one does
    /// (host names compare case-insensitively).
    private static func matches(_ name: String, _ patterns: [String]) -> Bool {
        let host = Array(name.lowercased().utf8)
        var positive = false
        for pattern in patterns {
            let negated = pattern.hasPrefix("!")
            guard glob(Array(pattern.dropFirst(negated ? 1 : 0).lowercased().utf8)[...], host[...]) else { continue }
            if negated { return false }
            positive = true
        }
        return positive
    }

    /// `*` matches any run of characters, `?` one; everything else itself (no `[...]` classes:
    /// `[host]:port` names are literal).
    private static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        if first == UInt8(ascii: "*") {
            let rest = pattern.dropFirst()
            return (text.startIndex...text.endIndex).contains { glob(rest, text[$0...]) }
        }
        guard let character = text.first, first == UInt8(ascii: "?") || first == character else { return false }
        return glob(pattern.dropFirst(), text.dropFirst())
    }
}
