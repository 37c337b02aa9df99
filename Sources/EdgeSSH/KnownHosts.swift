import CLibSSH2
import EdgeCore
import Foundation

/// A known_hosts file loaded into libssh2 for one session (libssh2's collections are per session).
final class KnownHosts {
    enum Verdict {
        case match
        /// The file holds another key of the same type: `knownKeyBase64` is that key.
        case changed(knownKeyBase64: String)
        /// Nothing for this host and key type; `otherTypes` lists key types the file has for it.
        case unknown(otherTypes: [String])
        /// An `@revoked` line matching this host lists the presented key: refused, whatever else matches.
        case revoked(line: String)
    }

    let path: String
    private let hosts: OpaquePointer
    /// Key types the file holds for this host, e.g. ["ssh-ed25519"].
    private let knownTypes: [String]
    /// `@revoked` lines for this host, with their key blobs (libssh2 knows no markers).
    private let revokedKeys: [(line: String, blob: Data)]

    /// Loads only the lines naming `name`, from the process-wide index.
    init(session: OpaquePointer, path: String, name: String) {
        self.path = path
        let collection = libssh2_knownhost_init(session)!  // nil only when out of memory
        hosts = collection
        var types: [String] = []
        var revoked: [(line: String, blob: Data)] = []
        for entry in KnownHostsIndex.shared.entries(for: name, in: path) {
            if entry.revoked {
                if let blob = Data(base64Encoded: entry.key) { revoked.append((entry.line, blob)) }
                continue
            }
            let rc = entry.line.withCString { libssh2_knownhost_readline(collection, $0, strlen($0), LIBSSH2_KNOWNHOST_FILE_OPENSSH) }
            if rc == 0 && !types.contains(entry.keyType) { types.append(entry.keyType) }
        }
        knownTypes = types
        revokedKeys = revoked
    }

    deinit { libssh2_knownhost_free(hosts) }

    /// Host-key algorithms in the order to offer: those the file holds for the host first, so
    /// libssh2 (which prefers ECDSA) negotiates the key type that can actually be checked.
    func hostKeyPreference() -> String {
        let known = Self.keyTypes.filter { type in knownTypes.contains { type.methods.contains($0) } }.flatMap(\.methods)
        let rest = Self.keyTypes.flatMap(\.methods).filter { !known.contains($0) }
        return (known + rest).joined(separator: ",")
    }

    func check(name: String, keyBlob: [UInt8], hostKeyType: Int32) -> Verdict {
        if let revoked = revokedKeys.first(where: { $0.blob.elementsEqual(keyBlob) }) { return .revoked(line: revoked.line) }
        guard let type = Self.keyTypes.first(where: { $0.hostKeyType == hostKeyType }) else {
            return .unknown(otherTypes: knownTypes)
        }
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let rc = keyBlob.withUnsafeBufferPointer { key in
            key.withMemoryRebound(to: CChar.self) {
                libssh2_knownhost_checkp(hosts, name, -1, $0.baseAddress, $0.count, Self.plainRaw | type.mask, &entry)
            }
        }
        switch rc {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH: return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            return .changed(knownKeyBase64: entry?.pointee.key.map { String(cString: $0) } ?? "")
        default: return .unknown(otherTypes: knownTypes)
        }
    }

    /// The OpenSSH-format line for a new entry (plain host name), without newline.
    func line(name: String, keyBlob: [UInt8], hostKeyType: Int32) -> String? {
        guard let type = Self.keyTypes.first(where: { $0.hostKeyType == hostKeyType }) else { return nil }
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let comment = "added by edgeup"
        let rc = keyBlob.withUnsafeBufferPointer { key in
            key.withMemoryRebound(to: CChar.self) {
                libssh2_knownhost_addc(hosts, name, nil, $0.baseAddress, $0.count, comment, comment.utf8.count,
                                       Self.plainRaw | type.mask, &entry)
            }
        }
        guard rc == 0, let entry else { return nil }
        var buffer = [CChar](repeating: 0, count: 16384)
        var length = 0
        guard libssh2_knownhost_writeline(hosts, entry, &buffer, buffer.count, &length, LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0 else { return nil }
        let text = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.trimmingCharacters(in: .newlines)
    }

    private static let plainRaw = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW

    private struct KeyType {
        let hostKeyType: Int32
        let mask: Int32
        let methods: [String]
    }

    /// OpenSSH's own order. RSA can only use `ssh-rsa` on libssh2 < 1.11, which modern sshd refuses.
    private static let keyTypes: [KeyType] = [
        KeyType(hostKeyType: LIBSSH2_HOSTKEY_TYPE_ED25519, mask: LIBSSH2_KNOWNHOST_KEY_ED25519, methods: ["ssh-ed25519"]),
        KeyType(hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_256, mask: LIBSSH2_KNOWNHOST_KEY_ECDSA_256, methods: ["ecdsa-sha2-nistp256"]),
        KeyType(hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_384, mask: LIBSSH2_KNOWNHOST_KEY_ECDSA_384, methods: ["ecdsa-sha2-nistp384"]),
        KeyType(hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_521, mask: LIBSSH2_KNOWNHOST_KEY_ECDSA_521, methods: ["ecdsa-sha2-nistp521"]),
        KeyType(hostKeyType: LIBSSH2_HOSTKEY_TYPE_RSA, mask: LIBSSH2_KNOWNHOST_KEY_SSHRSA, methods: ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]),
    ]

    /// Appends `line` to the file under an exclusive flock, after `recheck` (run on the file's
    /// current contents, under the lock) says the host is still absent. One O_APPEND write per
    /// line, so a thousand concurrent connections never interleave or lose entries.
    static func append(
        line: String, to path: String, hop: String,
        isolation: isolated (any Actor)? = #isolation, recheck: () -> Verdict
    ) async throws(SSHError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SSHError(.hostKeyFile, hop: hop, step: .hostKey, "cannot open known_hosts file \(path): \(errnoText())",
                           hint: "check the file's permissions, or point known_hosts at a writable file")
        }
        defer { close(fd) }
        // Non-blocking attempts with short sleeps keep the cooperative thread pool free.
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { break }
            try? await Task.sleep(for: .milliseconds(2))
        }
        defer { flock(fd, LOCK_UN) }
        switch recheck() {
        case .match: return
        case .changed(let known):
            throw SSHError(.hostKeyChanged, hop: hop, step: .hostKey,
                           "another connection added a different key (\(fingerprint(base64: known))) to \(path) meanwhile")
        case .revoked:
            throw SSHError(.hostKeyRevoked, hop: hop, step: .hostKey, "the key was marked @revoked in \(path) meanwhile")
        case .unknown: break
        }
        var text = line + "\n"
        let size = lseek(fd, 0, SEEK_END)
        if size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, size - 1) == 1, last != UInt8(ascii: "\n") { text = "\n" + text }
        }
        let written = text.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == text.utf8.count else {
            throw SSHError(.hostKeyFile, hop: hop, step: .hostKey, "cannot append to known_hosts file \(path): \(errnoText())")
        }
    }

    static func fingerprint(base64: String) -> String {
        guard let blob = Data(base64Encoded: base64) else { return "(unreadable key)" }
        return SHA256Digest.fingerprint(ofKeyBlob: [UInt8](blob))
    }
}

extension KnownHosts {
    /// The SSH name of a libssh2 host key type, for messages.
    static func typeName(_ hostKeyType: Int32) -> String {
        keyTypesForNames.first { $0.0 == hostKeyType }?.1 ?? "unknown-type"
    }

    private static let keyTypesForNames: [(Int32, String)] = [
        (LIBSSH2_HOSTKEY_TYPE_ED25519, "ssh-ed25519"), (LIBSSH2_HOSTKEY_TYPE_ECDSA_256, "ecdsa-sha2-nistp256"),
        (LIBSSH2_HOSTKEY_TYPE_ECDSA_384, "ecdsa-sha2-nistp384"), (LIBSSH2_HOSTKEY_TYPE_ECDSA_521, "ecdsa-sha2-nistp521"),
        (LIBSSH2_HOSTKEY_TYPE_RSA, "ssh-rsa"), (LIBSSH2_HOSTKEY_TYPE_DSS, "ssh-dss"),
    ]
}
