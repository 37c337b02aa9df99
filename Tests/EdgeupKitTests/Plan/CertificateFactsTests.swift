import EdgeupKit
import Foundation
import Testing

@Suite struct CertificateFactsTests {
    static let adminNotAfter = Date(timeIntervalSince1970: 1_827_840_935)  // 2027-12-03 13:35:35Z
    static let authorityNotAfter = Date(timeIntervalSince1970: 2_111_664_935)  // 2036-11-30
    static let farNotAfter = Date(timeIntervalSince1970: 2_660_304_941)  // 2054-04-20

    static func base64DER(_ pem: String) -> String {
        pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    }

    @Test func probeOutputGivesLeavesAndAuthorities() {
        let output = """
            machine=x86_64
            hostname=s1
            cert=server-ca.crt \(Self.base64DER(CertificateFixtures.authority))
            cert=client-ca.crt \(Self.base64DER(CertificateFixtures.authority))
            cert=client-admin.crt \(Self.base64DER(CertificateFixtures.adminLeaf))
            cert=serving-kubelet.crt \(Self.base64DER(CertificateFixtures.farFuture))
            cert=client-kubelet.crt
            cert=serving-kube-apiserver.crt !!!not base64
            cert=/etc/shadow \(Self.base64DER(CertificateFixtures.adminLeaf))
            cert=evil.crt \(Self.base64DER(CertificateFixtures.adminLeaf))
            cert=request-header-ca.crt \(Data("garbage".utf8).base64EncodedString())
            """
        let certificates = FactsProbe.parse(output).k3s.certificates
        #expect(certificates.authorities == ["server-ca.crt": Self.authorityNotAfter, "client-ca.crt": Self.authorityNotAfter])
        #expect(
            certificates.leaves == ["client-admin.crt": Self.adminNotAfter, "serving-kubelet.crt": Self.farNotAfter],
            "empty, unreadable, unknown and garbage lines are dropped")
        #expect(certificates.earliestLeaf?.name == "client-admin.crt")
        #expect(certificates.earliestLeaf?.notAfter == Self.adminNotAfter)
        #expect(certificates.earliestAuthority?.name == "client-ca.crt", "ties go to the first name")
        #expect(FactsProbe.parse("machine=x86_64\n").k3s.certificates.isEmpty)
    }

    @Test func scriptReadsEachRolesCertificates() {
        let server = FactsProbe.script(for: .server)
        let agent = FactsProbe.script(for: .agent)
        for name in ["server-ca.crt", "client-ca.crt", "serving-kube-apiserver.crt", "client-admin.crt"] {
            #expect(server.contains("/var/lib/rancher/k3s/server/tls/\(name)"))
            #expect(!agent.contains(name), "agents have no server certificates")
        }
        for name in ["client-kubelet.crt", "serving-kubelet.crt"] {
            #expect(server.contains("/var/lib/rancher/k3s/agent/\(name)") && agent.contains("/var/lib/rancher/k3s/agent/\(name)"))
        }
        #expect(!server.contains("openssl"), "hosts need no openssl")
    }

    /// The probe's own certificate loop, run by sh on real files (its paths moved into a temporary
    /// folder): the first certificate's base64, armour and line breaks gone, parsed locally.
    @Test func probeSendsTheFirstCertificateOnly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-certs-\(UUID().uuidString)").path
        for sub in ["/server/tls", "/agent"] {
            try FileManager.default.createDirectory(atPath: folder + sub, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = [
            "/server/tls/client-admin.crt": CertificateFixtures.adminLeaf + "\n" + CertificateFixtures.authority + "\n",
            "/server/tls/server-ca.crt": CertificateFixtures.authority.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n",
            "/agent/client-kubelet.crt": "no certificate here\n",
            "/agent/serving-kubelet.crt": "-----BEGIN CERTIFICATE-----\n" + String(repeating: "QUFB\n", count: 10_000),
        ]
        for (name, text) in files { try text.write(toFile: folder + name, atomically: true, encoding: .utf8) }
        let script = FactsProbe.script(for: .server).split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(script.firstIndex { $0.contains("for cert in ") })
        let loop = script[start...(start + 2)].joined(separator: "\n").replacingOccurrences(of: "/var/lib/rancher/k3s", with: folder)
        #expect(loop.hasSuffix("done"), "\(loop)")
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", loop]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        #expect(output.contains("cert=client-admin.crt \(Self.base64DER(CertificateFixtures.adminLeaf))\n"), "the leaf, not its chain")
        #expect(output.contains("cert=client-kubelet.crt \n"), "a file without a certificate sends nothing")
        let unterminated = try #require(output.split(separator: "\n").first { $0.hasPrefix("cert=serving-kubelet.crt ") })
        #expect(unterminated.count == "cert=serving-kubelet.crt ".count + 16_384, "a runaway file is cut off")
        #expect(!output.contains("client-ca.crt"), "absent files are not mentioned")
        let certificates = FactsProbe.parse(output).k3s.certificates
        #expect(certificates.leaves == ["client-admin.crt": Self.adminNotAfter])
        #expect(certificates.authorities == ["server-ca.crt": Self.authorityNotAfter], "CRLF line endings")
    }

    @Test func needsRenewalInsideTheWindow() throws {
        let now = Date(timeIntervalSince1970: 1_000_000_000)
        let day = 86_400.0
        let facts = CertificateFacts(
            leaves: ["serving-kubelet.crt": now + 200 * day, "client-admin.crt": now + 20 * day + 3600],
            authorities: ["server-ca.crt": now + 5 * day])
        let due = try #require(facts.needsRenewal(now: now, window: 90))
        #expect(due.name == "client-admin.crt" && due.daysLeft == 20)
        #expect(facts.needsRenewal(now: now, window: 20) == nil, "20 days and an hour left: not fewer than 20")
        #expect(facts.needsRenewal(now: now, window: 21)?.daysLeft == 20)
        #expect(facts.needsRenewal(now: now + 30 * day, window: 90)?.daysLeft == -10, "expired ones too")
        #expect(CertificateFacts(authorities: ["server-ca.crt": now]).needsRenewal(now: now, window: 90) == nil,
                "authorities are not renewed by k3s certificate rotate")
        #expect(CertificateFacts().needsRenewal(now: now, window: 90) == nil)
    }

    /// Facts written before certificates existed read as empty; empty ones are not written.
    @Test func factsJSONStaysCompatible() throws {
        let old = #"{"serviceActive": true, "serviceEnabled": false, "airgapImages": {}, "apiReady": false}"#
        let decoded = try JSONDecoder().decode(K3sFacts.self, from: Data(old.utf8))
        #expect(decoded.certificates.isEmpty && decoded.serviceActive)
        let bare = String(decoding: try JSONEncoder().encode(K3sFacts()), as: UTF8.self)
        #expect(!bare.contains("certificates"))
        var facts = K3sFacts()
        facts.certificates.leaves["client-admin.crt"] = Self.adminNotAfter
        let data = try JSONEncoder().encode(facts)
        #expect(String(decoding: data, as: UTF8.self).contains("client-admin.crt"))
        #expect(try JSONDecoder().decode(K3sFacts.self, from: data) == facts)
    }
}
