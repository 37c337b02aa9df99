import COpenSSL
import Foundation

/// What edgeup reads from an X.509 certificate: when it expires, and whose it is. Read with
/// libcrypto from DER or PEM that hosts and fetched kubeconfigs send, so the input is untrusted:
/// anything libcrypto cannot parse gives nil, and nothing is verified (no chain, no signature) —
/// this is for showing expiry, never for trusting a certificate.
public struct CertificateExpiry: Sendable, Hashable {
    /// The end of the validity period (`notAfter`).
    public var notAfter: Date
    /// The subject's first common name, as UTF-8; nil when it has none or it is not text. Untrusted:
    /// escape it before showing it.
    public var subjectCommonName: String?

    public init(notAfter: Date, subjectCommonName: String? = nil) {
        self.notAfter = notAfter
        self.subjectCommonName = subjectCommonName
    }

    /// Inputs larger than this are refused before libcrypto sees them (a certificate is ~1 KiB; a
    /// bundle a few).
    public static let maximumInputBytes = 1 << 20

    /// Reads one DER-encoded certificate. Nil for anything else, including trailing bytes.
    public init?(der: some Collection<UInt8>) {
        let bytes = Array(der)
        guard !bytes.isEmpty, bytes.count <= Self.maximumInputBytes else { return nil }
        _ = OpenSSLProcess.ready
        defer { ERR_clear_error() }
        let parsed: (certificate: OpaquePointer?, consumed: Int) = bytes.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            let certificate = d2i_X509(nil, &cursor, buffer.count)
            let consumed = cursor.map { $0 - buffer.baseAddress! } ?? 0
            return (certificate, consumed)
        }
        guard let certificate = parsed.certificate else { return nil }
        defer { X509_free(certificate) }
        guard parsed.consumed == bytes.count else { return nil }
        self.init(certificate)
    }

    /// Reads the first certificate of PEM text (a bundle's first `CERTIFICATE` block; other blocks
    /// before it are skipped). Nil when there is none or it does not parse.
    public init?(pem: String) {
        var text = Array(pem.utf8)
        guard !text.isEmpty, text.count <= Self.maximumInputBytes else { return nil }
        _ = OpenSSLProcess.ready
        defer { ERR_clear_error() }
        let certificate: OpaquePointer? = text.withUnsafeMutableBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let certificate else { return nil }
        defer { X509_free(certificate) }
        self.init(certificate)
    }

    private init?(_ certificate: OpaquePointer) {
        guard let time = X509_get0_notAfter(certificate) else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        notAfter = Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
        subjectCommonName = Self.commonName(of: certificate)
    }

    private static func commonName(of certificate: OpaquePointer) -> String? {
        guard let name = X509_get_subject_name(certificate) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { CRYPTO_free(utf8, #fileID, #line) }
        return String(validating: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// Whole days from `now` until `notAfter`, rounded down; negative once it has expired (an hour
    /// past expiry is day -1).
    public func daysLeft(at now: Date) -> Int {
        Int((notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
    }
}
