import EdgeupTestSupport
import Foundation
import Testing

/// `edgeup status` warns about a merged client certificate that expires within 30 days.
@Suite struct CertificateWarningCLITests {
    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A certificate and key made now by the openssl CLI, valid for `days`: base64 of their PEM.
    func clientCertificate(days: Int, in folder: String) throws -> (certificate: String, key: String) {
        let run = try runProcess(try #require(Self.openssl), [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem", "-subj", "/O=system:masters/CN=system:admin",
            "-days", String(days),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        func field(_ file: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)).base64EncodedString() }
        return (try field("cert.pem"), try field("key.pem"))
    }

    func kubeconfig(_ context: String, certificate: String, key: String, fleet: String = "test") -> String {
        let mark = "    extensions:\n    - name: edgeup\n      extension: {fleet: \(fleet), store: \(context)}\n"
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: \(context)
              cluster:
                server: https://10.0.0.1:6443
                certificate-authority-data: \(certificate)
            \(mark)users:
            - name: \(context)
              user:
                client-certificate-data: \(certificate)
                client-key-data: \(key)
            \(mark)contexts:
            - name: \(context)
              context:
                cluster: \(context)
                user: \(context)
            \(mark)current-context: \(context)

            """
    }

    @Test(.enabled(if: openssl != nil, "needs the openssl CLI")) func statusWarnsAboutAnExpiringClientCertificate() throws {
        let inventory = try temporaryInventory("""
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
              - {name: s2, hosts: [{address: 10.0.0.2, role: server}]}
            """)
        let folder = (inventory as NSString).deletingLastPathComponent
        let (certificate, key) = try clientCertificate(days: 10, in: folder)
        let path = folder + "/config"
        try kubeconfig("s1", certificate: certificate, key: key).write(toFile: path, atomically: true, encoding: .utf8)
        let environment = ["NO_COLOR": "1", "EDGEUP_STATE_DIR": folder + "/state"]
        let run = try edgeup(["status", inventory, "--kubeconfig", path, "--fleet", "test"], environment: environment)
        #expect(run.status == 0, "a warning, not a failure: \(run.stderr)")
        #expect(run.stdout.contains("s1     never"), "\(run.stdout)")
        let lines = run.stderr.split(separator: "\n")
        let warning = try #require(lines.first { $0.hasPrefix("warning: context s1 in \(path): its client certificate expires ") })
        #expect(warning.hasSuffix("(9 days left)") || warning.hasSuffix("(10 days left)"), "\(warning)")
        #expect(run.stderr.contains("hint: run edgeup apply: stores inside the renewal window renew their certificates and the kubeconfig is fetched again"))
        #expect(!run.stderr.contains("s2"), "s2 has no context")
        for secret in [certificate, key, "PRIVATE KEY"] { #expect(!run.stderr.contains(secret) && !run.stdout.contains(secret)) }

        let otherFleet = try edgeup(["status", inventory, "--kubeconfig", path, "--fleet", "other"], environment: environment)
        #expect(otherFleet.stderr.contains("warning: context s1"), "the same store's entry, whichever fleet wrote it")
        try kubeconfig("s1", certificate: certificate, key: key, fleet: "test").replacingOccurrences(of: "store: s1", with: "store: s9")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let notOurs = try edgeup(["status", inventory, "--kubeconfig", path, "--fleet", "other"], environment: environment)
        #expect(notOurs.status == 0 && !notOurs.stderr.contains("warning"), "another fleet's entry for another store: \(notOurs.stderr)")

        let (fresh, freshKey) = try clientCertificate(days: 365, in: folder)
        try kubeconfig("s1", certificate: fresh, key: freshKey).write(toFile: path, atomically: true, encoding: .utf8)
        let quiet = try edgeup(["status", inventory, "--kubeconfig", path, "--fleet", "test"], environment: environment)
        #expect(quiet.status == 0 && !quiet.stderr.contains("warning"), "\(quiet.stderr)")
    }
}
