import COpenSSL
import EdgeCore
import Foundation

/// The SSH-only uses of libcrypto's digests; SHA-256 itself lives in EdgeCore.
extension SHA256Digest {
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
}
