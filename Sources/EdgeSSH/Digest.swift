import COpenSSL
import Foundation

/// SHA-256 via libcrypto (host-key fingerprints, upload skips; EdgeupKit hashes config and artifacts with it).
/// OpenSSL set up once, before anything uses it.
enum OpenSSLProcess {
    /// OpenSSL's atexit cleanup frees its global locks while the reactor thread may still be in
    /// libcrypto (closing sessions): that crashed processes at exit. The OS reclaims it anyway.
    static let ready: Bool = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1
}

public enum SHA256Digest {
    static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        _ = OpenSSLProcess.ready
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = EVP_Digest(bytes.baseAddress, bytes.count, &out, nil, EVP_sha256(), nil)
        return out
    }

    public static func hex(_ data: Data) -> String {
        data.withUnsafeBytes { hexString(hash($0)) }
    }

    /// Streams the file, so a large binary is never held in memory.
    public static func hexOfFile(_ path: String) throws(OSError) -> String {
        _ = OpenSSLProcess.ready
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError(errno) }
        defer { close(fd) }
        guard let ctx = EVP_MD_CTX_new() else { throw OSError(ENOMEM) }
        defer { EVP_MD_CTX_free(ctx) }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw OSError(errno)
            }
            if n == 0 { break }
            EVP_DigestUpdate(ctx, buffer, n)
        }
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &length)
        return hexString(out)
    }

    /// Fetched once: OpenSSL 3 would otherwise look the algorithm up on every digest.
    nonisolated(unsafe) private static let sha1 = EVP_MD_fetch(nil, "SHA1", nil)

    /// HMAC-SHA1 (RFC 2104), the hash of hashed known_hosts names. Keys are short salts (≤ 64 bytes).
    static func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var inner = [UInt8](repeating: 0x36, count: 64)
        var outer = [UInt8](repeating: 0x5c, count: 64)
        for (i, byte) in key.prefix(64).enumerated() {
            inner[i] ^= byte
            outer[i] ^= byte
        }
        var digest = [UInt8](repeating: 0, count: 20)
        inner += message
        _ = EVP_Digest(inner, inner.count, &digest, nil, sha1, nil)
        outer += digest
        _ = EVP_Digest(outer, outer.count, &digest, nil, sha1, nil)
        return digest
    }

    /// OpenSSH's fingerprint form: "SHA256:" + unpadded base64 of the key blob's digest.
    static func fingerprint(ofKeyBlob blob: [UInt8]) -> String {
        let digest = blob.withUnsafeBytes { hash($0) }
        var b64 = Data(digest).base64EncodedString()
        while b64.hasSuffix("=") { b64.removeLast() }
        return "SHA256:" + b64
    }

    private static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
