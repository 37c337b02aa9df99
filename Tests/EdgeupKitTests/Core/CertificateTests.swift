import EdgeCore
import Foundation
import Testing

@Suite struct CertificateTests {
    /// The DER of a PEM block: its base64 lines between the armour (what the facts probe sends).
    static func der(_ pem: String) -> [UInt8] {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Array(Data(base64Encoded: body) ?? Data())
    }

    @Test func readsNotAfterAndCommonNameFromPEM() throws {
        let authority = try #require(CertificateExpiry(pem: CertificateFixtures.authority))
        #expect(authority.notAfter == Date(timeIntervalSince1970: 2_111_664_935))
        #expect(authority.subjectCommonName == "k3s-client-ca@1700000000")
        let leaf = try #require(CertificateExpiry(pem: CertificateFixtures.adminLeaf))
        #expect(leaf.notAfter == Date(timeIntervalSince1970: 1_827_840_935))
        #expect(leaf.subjectCommonName == "system:admin", "the CN, not the O that precedes it")
    }

    @Test func readsGeneralizedTimeAndUTF8Names() throws {
        let far = try #require(CertificateExpiry(pem: CertificateFixtures.farFuture))
        #expect(far.notAfter == Date(timeIntervalSince1970: 2_660_304_941), "2054: a GeneralizedTime")
        #expect(far.subjectCommonName == "far future ☃")
    }

    @Test func readsTheFirstCertificateOfABundle() throws {
        // k3s's client-admin.crt holds the leaf, then the CA.
        let bundle = CertificateFixtures.adminLeaf + "\n" + CertificateFixtures.authority + "\n"
        #expect(CertificateExpiry(pem: bundle)?.subjectCommonName == "system:admin")
        let reversed = CertificateFixtures.authority + "\n" + CertificateFixtures.adminLeaf + "\n"
        #expect(CertificateExpiry(pem: reversed)?.subjectCommonName == "k3s-client-ca@1700000000")
        let keyFirst = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n" + CertificateFixtures.adminLeaf
        #expect(CertificateExpiry(pem: keyFirst)?.subjectCommonName == "system:admin", "other blocks are skipped")
    }

    @Test func readsDER() throws {
        let der = Self.der(CertificateFixtures.adminLeaf)
        #expect(der.count > 100)
        let leaf = try #require(CertificateExpiry(der: der))
        #expect(leaf.notAfter == Date(timeIntervalSince1970: 1_827_840_935))
        #expect(CertificateExpiry(der: Data(der))?.subjectCommonName == "system:admin", "any byte collection")
    }

    @Test func garbageGivesNil() {
        let der = Self.der(CertificateFixtures.adminLeaf)
        #expect(CertificateExpiry(der: [UInt8]()) == nil)
        #expect(CertificateExpiry(der: Array("not a certificate".utf8)) == nil)
        #expect(CertificateExpiry(der: der.dropLast(1)) == nil, "truncated")
        #expect(CertificateExpiry(der: der + [0]) == nil, "trailing bytes")
        #expect(CertificateExpiry(der: [0x30, 0x84, 0xff, 0xff, 0xff, 0xff]) == nil, "a length past the end")
        var flipped = der
        flipped[40] ^= 0xff
        _ = CertificateExpiry(der: flipped)  // may or may not parse; must not crash
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = [0x30] + (0..<Int.random(in: 1...600, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = CertificateExpiry(der: bytes)
        }
        #expect(CertificateExpiry(der: [UInt8](repeating: 0x30, count: CertificateExpiry.maximumInputBytes + 1)) == nil)
        #expect(CertificateExpiry(pem: "") == nil)
        #expect(CertificateExpiry(pem: "hello") == nil)
        #expect(CertificateExpiry(pem: "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n") == nil)
        #expect(CertificateExpiry(pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n") == nil)
        #expect(CertificateExpiry(pem: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n") == nil)
        let unterminated = CertificateFixtures.adminLeaf.replacingOccurrences(of: "-----END CERTIFICATE-----", with: "")
        #expect(CertificateExpiry(pem: unterminated) == nil)
    }

    @Test func daysLeftRoundsDown() {
        let expiry = CertificateExpiry(notAfter: Date(timeIntervalSince1970: 100 * 86_400))
        #expect(expiry.daysLeft(at: Date(timeIntervalSince1970: 80 * 86_400)) == 20)
        #expect(expiry.daysLeft(at: Date(timeIntervalSince1970: 80 * 86_400 + 1)) == 19)
        #expect(expiry.daysLeft(at: Date(timeIntervalSince1970: 100 * 86_400)) == 0)
        #expect(expiry.daysLeft(at: Date(timeIntervalSince1970: 100 * 86_400 + 3600)) == -1, "expired an hour ago")
    }

    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A certificate made now by the openssl CLI, valid for 20 days, reads as 19 or 20 days left.
    @Test(.enabled(if: openssl != nil, "needs the openssl CLI")) func readsACertificateOpenSSLJustMade() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-cert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.openssl))
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", folder.appendingPathComponent("key.pem").path, "-out", folder.appendingPathComponent("cert.pem").path,
            "-subj", "/CN=serving-kubelet", "-days", "20",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let pem = try String(contentsOf: folder.appendingPathComponent("cert.pem"), encoding: .utf8)
        let expiry = try #require(CertificateExpiry(pem: pem))
        #expect(expiry.subjectCommonName == "serving-kubelet")
        #expect([19, 20].contains(expiry.daysLeft(at: Date())))
        #expect(CertificateExpiry(der: Self.der(pem)) == expiry)
    }
}
