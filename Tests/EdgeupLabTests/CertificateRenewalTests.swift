import EdgeupTestSupport
import Foundation
import Testing
import Yams

/// Certificates aged to 20 days left are renewed by apply, one node at a time, servers first, with
/// the readiness gates; the merged kubeconfig's client certificate is new afterwards (issue #14).
/// A store whose window is wider than k3s's own (90 days on v1.31.4) is renewed too: there a
/// restart alone would keep the certificates, so only `k3s certificate rotate` renews them.
extension LabTests {
@Suite struct CertificateRenewalTests {
    static let spec = """
        stores:
          - {name: ha, servers: 3, agents: 1}
          - {name: wide, servers: 1, agents: 0}
          - {name: calm, servers: 1, agents: 0}
        """

    @Test func agedCertificatesAreRenewedOneNodeAtATime() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.90.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s", stores: ["wide": "k3s: {certificateRenewalDays: 150}"])
            let kubeconfig = lab.directory + "/kubeconfig"
            let env = ["KUBECONFIG": kubeconfig, "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            let formed = try edgeup(["apply", inventory], environment: env)
            try #require(formed.status == 0, "\(formed.stderr)")

            for (node, days) in [("ha-s1", 20), ("ha-s2", 20), ("ha-s3", 20), ("ha-a1", 20), ("wide-s1", 100)] {
                let aged = try runProcess(Lab.tool, ["host", "age-certs", "--dir", lab.directory, node, "--days-left", String(days)])
                try #require(aged.status == 0, "aging \(node): \(aged.stderr)")
            }
            // The operator's merged copy now holds the aged admin certificate too.
            let merged = try edgeup(["kubeconfig", inventory], environment: env)
            #expect(merged.status == 0, "\(merged.stderr)")
            #expect(merged.stderr.contains("context ha in \(kubeconfig): its client certificate expires"), "\(merged.stderr)")
            let before = try Self.clientCertificateDays(kubeconfig, context: "ha")
            #expect((19...20).contains(before), "the merged client certificate has 20 days left: \(before)")

            let plan = try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env)
            #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
            #expect(plan.stdout.contains("renew-certificates"), "\(plan.stdout)")
            #expect(plan.stdout.contains("inside the 90-day renewal window"), "\(plan.stdout)")
            #expect(plan.stdout.contains("inside the 150-day renewal window"), "\(plan.stdout)")
            #expect(!plan.stdout.contains("calm"), "the store outside its window is untouched: \(plan.stdout)")

            let earlier = Set((try? FileManager.default.contentsOfDirectory(atPath: lab.directory + "/state/runs")) ?? [])
            let apply = try edgeup(["apply", inventory, "--readiness-timeout", "60"], environment: env)
            #expect(apply.status == 0, "\(apply.stderr)")
            let journal = try lab.journalText(excluding: earlier)
            try UpgradeTests.expectOneAtATime(["ha-s1", "ha-s2", "ha-s3"], then: ["ha-a1"], action: "renew-certificates", agentsInTurn: true, journal: journal)
            #expect(!journal.contains(#""host":"calm-s1","kind":"step-started""#), "calm is not restarted")

            for store in ["ha", "wide"] {
                let after = try Self.clientCertificateDays(kubeconfig, context: store)
                #expect(after > 300, "\(store): the merged kubeconfig's client certificate is new: \(after) days left")
            }
            let settled = try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env)
            #expect(settled.status == 0, "every node's certificates are outside the window now: \(settled.stdout)")
            let quiet = try edgeup(["kubeconfig", inventory], environment: env)
            #expect(!quiet.stderr.contains("client certificate expires"), "\(quiet.stderr)")
        }
    }

    /// Days left on the client certificate of `context`'s user in a kubeconfig (openssl reads it).
    static func clientCertificateDays(_ kubeconfig: String, context: String) throws -> Int {
        let root = try Yams.load(yaml: try String(contentsOfFile: kubeconfig, encoding: .utf8)) as? [String: Any]
        let contexts = root?["contexts"] as? [[String: Any]] ?? []
        let users = root?["users"] as? [[String: Any]] ?? []
        guard let entry = contexts.first(where: { $0["name"] as? String == context })?["context"] as? [String: Any],
            let userName = entry["user"] as? String,
            let user = users.first(where: { $0["name"] as? String == userName })?["user"] as? [String: Any],
            let field = user["client-certificate-data"] as? String, let data = Data(base64Encoded: field)
        else { throw LabError("no client certificate for \(context) in \(kubeconfig)") }
        let pem = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString).pem").path
        try data.write(to: URL(fileURLWithPath: pem))
        defer { try? FileManager.default.removeItem(atPath: pem) }
        // `-checkend N` exits 0 when the certificate is still valid N seconds from now.
        func validFor(days: Int) throws -> Bool {
            try runProcess("/usr/bin/openssl", ["x509", "-noout", "-checkend", String(days * 86400), "-in", pem]).status == 0
        }
        // The most whole days it is still valid for, by bisection (at most 4000).
        var (low, high) = (0, 4000)
        while low < high {
            let middle = (low + high + 1) / 2
            if try validFor(days: middle) { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
}
