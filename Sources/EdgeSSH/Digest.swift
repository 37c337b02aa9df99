import COpenSSL
import Foundation

/// SHA-256 via libcrypto.
public enum SHA256Digest {
    static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = EVP_Digest(bytes.baseAddress, bytes.count, &out, nil, EVP_sha256(), nil)
        return out
    }

    public static func hex(_ data: Data) -> String {
        data.withUnsafeBytes { hexString(hash($0)) }
    }

    /// Streams the file, so a large binary is never held in memory.
    public static func hexOfFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        guard let context = EVP_MD_CTX_new() else { throw POSIXError(.ENOMEM) }
        defer { EVP_MD_CTX_free(context) }
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if count == 0 { break }
            EVP_DigestUpdate(context, buffer, count)
        }
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return hexString(out)
    }

    private static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
