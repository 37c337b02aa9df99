import EdgeupKit
import Foundation
import Testing

/// `edgeup kubeconfig` and `status` warn about merged client certificates expiring within 30 days.
@Suite struct ClientCertificateWarningTests {
    static let adminNotAfter = Date(timeIntervalSince1970: 1_827_840_935)  // 2027-12-03 13:35:35Z
    static let day = 86_400.0
    /// 20.5 days before the admin certificate expires.
    static let now = adminNotAfter - 20.5 * day

    /// A client-certificate-data field as k3s writes it: the client certificate, then its CA.
    static let adminField = Data((CertificateFixtures.adminLeaf + "\n" + CertificateFixtures.authority + "\n").utf8)
        .base64EncodedString()
    static let farField = Data((CertificateFixtures.farFuture + "\n").utf8).base64EncodedString()

    let stores = try! load(("inv.yaml", """
        stores:
          - {name: eu-001, hosts: [{address: 10.0.0.1, role: server}]}
          - {name: eu-002, hosts: [{address: 10.0.0.2, role: server}]}
          - {name: eu-003, hosts: [{address: 10.0.0.3, role: server}]}
          - {name: eu-004, context: flagship, hosts: [{address: 10.0.0.4, role: server}]}
        """)).get().stores

    /// The operator's kubeconfig with eu-001 (expiring), eu-002 (far off) and flagship (expiring)
    /// merged by the `test` fleet, and a hand-made eu-003 with the expiring certificate.
    func merged() throws -> String {
        let handMade = operatorKubeconfig.replacingOccurrences(
            of: "contexts:\n- name: prod\n", with: "contexts:\n- name: eu-003\n  context: {cluster: prod, user: eu-003}\n- name: prod\n")
            .replacingOccurrences(
                of: "users:\n", with: "users:\n- name: eu-003\n  user:\n    client-certificate-data: \(Self.adminField)\n")
        let entries = [
            try storeKubeconfig("eu-001", fetched: k3sYAML(cert: Self.adminField)),
            try storeKubeconfig("eu-002", fetched: k3sYAML(cert: Self.farField)),
            try StoreKubeconfig(
                fetched: k3sYAML(cert: Self.adminField), source: "s", context: "flagship", serverHost: "10.0.0.4",
                owner: KubeconfigOwner(fleet: "test", store: "eu-004")),
        ]
        return try KubeconfigMerger.merge(entries, into: handMade, path: "/home/op/.kube/config").text
    }

    @Test func warnsForOurExpiringContextsOnly() throws {
        let text = try merged()
        #expect(text.contains("name: eu-003"), "the hand-made entry is there")
        let warnings = ClientCertificateWarning.check(text, path: "/home/op/.kube/config", stores: stores, fleet: "test", now: Self.now)
        #expect(warnings.map(\.context) == ["eu-001", "flagship"], "not eu-002 (2054), not the hand-made eu-003")
        let first = try #require(warnings.first)
        #expect(first.store == "eu-001" && first.daysLeft == 20 && first.notAfter == Self.adminNotAfter)
        #expect(warnings[1].store == "eu-004")
        #expect(first.message == "context eu-001 in /home/op/.kube/config: its client certificate expires 2027-12-03 (20 days left)")
        #expect(first.description == first.message + "; run edgeup apply: stores inside the renewal window renew their "
            + "certificates and the kubeconfig is fetched again (if k3s renewed them already, edgeup kubeconfig fetches the new one)")
        #expect(first.diagnostic.severity == .warning && first.diagnostic.hint == ClientCertificateWarning.fix)
        for secret in [testKey, Self.adminField, "PRIVATE KEY", "BEGIN"] {
            #expect(!first.description.contains(secret), "no certificate or key material")
        }
        #expect(ClientCertificateWarning.check(text, path: "k", stores: stores, fleet: "test", now: Self.now - 20 * Self.day).isEmpty,
                "40 days left: quiet")
        #expect(ClientCertificateWarning.check(text, path: "k", stores: [stores[1]], fleet: "test", now: Self.now).isEmpty,
                "only the selected stores")
    }

    @Test func expiredCertificatesSaySo() throws {
        let warnings = ClientCertificateWarning.check(
            try merged(), path: "k", stores: [stores[0]], fleet: "test", now: Self.adminNotAfter + 3.5 * Self.day)
        #expect(warnings.map(\.daysLeft) == [-4])
        #expect(warnings.first?.message == "context eu-001 in k: its client certificate expired 2027-12-03 (3 days ago), so kubectl is refused")
    }

    @Test func ownershipFollowsTheMergeRule() throws {
        let text = try merged()
        // Another fleet's mark for the same store is still this store's; for another store it is not.
        #expect(ClientCertificateWarning.check(text, path: "k", stores: [stores[0]], fleet: "other", now: Self.now).count == 1)
        let elsewhere = try KubeconfigMerger.merge(
            [try StoreKubeconfig(
                fetched: k3sYAML(cert: Self.adminField), source: "s", context: "eu-001", serverHost: "10.9.0.1",
                owner: KubeconfigOwner(fleet: "other", store: "eu-009"))],
            into: nil, path: "k").text
        #expect(ClientCertificateWarning.check(elsewhere, path: "k", stores: [stores[0]], fleet: "test", now: Self.now).isEmpty)
        #expect(ClientCertificateWarning.check(elsewhere, path: "k", stores: [stores[0]], fleet: "other", now: Self.now).count == 1,
                "the fleet that wrote it owns it, as a merge would replace it")
    }

    @Test func unreadableDataGivesNoWarning() throws {
        let garbage = try KubeconfigMerger.merge([try storeKubeconfig("eu-001")], into: nil, path: "k").text
        #expect(ClientCertificateWarning.check(garbage, path: "k", stores: stores, fleet: "test", now: Self.now).isEmpty,
                "PEM armour around no certificate")
        #expect(ClientCertificateWarning.check("clusters: [", path: "k", stores: stores, fleet: "test", now: Self.now).isEmpty)
        #expect(ClientCertificateWarning.check("", path: "k", stores: stores, fleet: "test", now: Self.now).isEmpty)
    }

    @Test func destinationsAreReadWhereTheyWereWritten() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-kc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try merged().write(toFile: folder + "/config", atomically: true, encoding: .utf8)
        let merge = KubeconfigDestination.merge(KubeconfigFile(path: folder + "/config"), fleet: "test", setCurrent: false)
        #expect(merge.clientCertificateWarnings(stores: stores, now: Self.now).map(\.context) == ["eu-001", "flagship"])
        let missing = KubeconfigDestination.merge(KubeconfigFile(path: folder + "/none"), fleet: "test", setCurrent: false)
        #expect(missing.clientCertificateWarnings(stores: stores, now: Self.now).isEmpty)
        try storeKubeconfig("eu-001", fetched: k3sYAML(cert: Self.adminField)).yaml
            .write(toFile: folder + "/eu-001.yaml", atomically: true, encoding: .utf8)
        let separate = KubeconfigDestination.separateFiles(directory: folder, fleet: "test")
        let warnings = separate.clientCertificateWarnings(stores: stores, now: Self.now)
        #expect(warnings.map(\.path) == [folder + "/eu-001.yaml"])
        #expect(KubeconfigDestination.none.clientCertificateWarnings(stores: stores, now: Self.now).isEmpty)
    }
}
