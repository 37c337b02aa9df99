import CLibSSH2
import EdgeCore
import Foundation

/// What can be learned from a private key file without its passphrase.
struct KeyFileInfo {
    enum Kind: String { case ed25519, ecdsa, rsa, dsa, other }
    var kind: Kind
    var encrypted: Bool

    /// Reads the OpenSSH or PEM header; throws the errno when the file cannot be read.
    static func inspect(_ path: String) throws(OSError) -> KeyFileInfo {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw OSError(access(path, R_OK) == 0 ? EIO : errno)
        }
        defer { try? handle.close() }
        let data = handle.readDataToEndOfFile()
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("BEGIN OPENSSH PRIVATE KEY") { return inspectOpenSSH(text) }
        let encrypted = text.contains("ENCRYPTED")
        if text.contains("BEGIN RSA PRIVATE KEY") { return KeyFileInfo(kind: .rsa, encrypted: encrypted) }
        if text.contains("BEGIN EC PRIVATE KEY") { return KeyFileInfo(kind: .ecdsa, encrypted: encrypted) }
        if text.contains("BEGIN DSA PRIVATE KEY") { return KeyFileInfo(kind: .dsa, encrypted: encrypted) }
        return KeyFileInfo(kind: .other, encrypted: encrypted)
    }

    /// "openssh-key-v1\0", cipher name, kdf name, kdf options, key count, then the public key blob.
    private static func inspectOpenSSH(_ text: String) -> KeyFileInfo {
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let raw = Data(base64Encoded: body) else { return KeyFileInfo(kind: .other, encrypted: false) }
        var reader = SSHWireReader(bytes: [UInt8](raw))
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard reader.take(magic.count) == magic,
              let cipher = reader.string(),
              reader.string() != nil, reader.string() != nil, reader.uint32() != nil,
              let publicBlob = reader.blob()
        else { return KeyFileInfo(kind: .other, encrypted: false) }
        var blob = SSHWireReader(bytes: publicBlob)
        let type = blob.string() ?? ""
        let kind: Kind = switch type {
        case "ssh-ed25519": .ed25519
        case let t where t.hasPrefix("ecdsa-"): .ecdsa
        case "ssh-rsa": .rsa
        case "ssh-dss": .dsa
        default: .other
        }
        return KeyFileInfo(kind: kind, encrypted: cipher != "none")
    }
}

/// Reads SSH wire-format fields (RFC 4251 uint32 and length-prefixed strings).
struct SSHWireReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, offset + n <= bytes.count else { return nil }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func uint32() -> UInt32? {
        take(4).map { $0.reduce(0) { $0 << 8 | UInt32($1) } }
    }

    mutating func blob() -> [UInt8]? {
        uint32().flatMap { take(Int($0)) }
    }

    mutating func string() -> String? {
        blob().map { String(decoding: $0, as: UTF8.self) }
    }
}

/// The libssh2 this process actually linked (public for `edgeup version`).
public enum LinkedLibSSH2 {
    public static var version: String { libssh2_version(0).map { String(cString: $0) } ?? "unknown" }
    /// libssh2 < 1.11 signs RSA only with SHA-1 (`ssh-rsa`), which OpenSSH ≥ 8.8 refuses.
    static var canSignRSASHA2: Bool { libssh2_version(0x010b00) != nil }
}
