import COpenSSL
import Foundation

/// SHA-256 via libcrypto (host-key fingerprints, upload skips; EdgeupKit hashes config and artifacts with it).
/// OpenSSL set up once, before anything uses it.
public enum OpenSSLProcess {
    /// OpenSSL's atexit cleanup frees its global locks while the reactor thread may still be in
    /// libcrypto (closing sessions): that crashed processes at exit. The OS reclaims it anyway.
    /// Public because EdgeSSH must also run it before libssh2_init (which uses libcrypto).
    public static let ready: Bool = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1

    /// The libcrypto this process linked, as OpenSSL names itself ("OpenSSL 3.0.17 1 Jul 2025").
    public static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}

public enum SHA256Digest {
    /// The raw 32-byte digest. Public for EdgeSSH, which builds host-key fingerprints from it.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
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

    private static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
