import EdgeupKit
import Foundation
import Testing

/// Days left in `plan` and `status --live`, from the certificates the plan carries.
@Suite struct CertificateReportingTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30T00:53:20Z
    static let day = 86_400.0

    static func at(_ days: Double) -> Date { now + days * day }

    let inventory = try! load(("inv.yaml", """
        defaults:
          k3s: {version: v1.31.4+k3s1}
        stores:
          - name: ha
            k3s: {certificateRenewalDays: 60}
            hosts:
              - {name: s1, address: 10.0.0.1, role: server}
              - {name: a1, address: 10.0.0.4, role: agent}
              - {name: a2, address: 10.0.0.5, role: agent}
          - name: one
            hosts: [{name: pi, address: 10.1.0.1, role: server}]
        """)).get()

    func observed(_ certificates: CertificateFacts) -> HostObservation {
        .observed(HostFacts(
            machine: "x86_64", architecture: .amd64, hostname: "h", initSystem: .systemd,
            k3s: K3sFacts(certificates: certificates)))
    }

    func storePlan(_ name: String, window: Int = 90, _ hosts: [(String, CertificateFacts)]) -> StorePlan {
        StorePlan(
            store: StoreID(name), actions: [], problems: [], factsFingerprint: "f",
            certificates: StoreCertificates(
                renewalWindowDays: window, hosts: hosts.map { HostCertificates(host: HostID($0.0), $0.1) }))
    }

    @Test func theStoreCarriesItsHostsCertificatesAndWindow() throws {
        let ha = inventory.stores[0]
        let observations: [HostID: HostObservation] = [
            "s1": observed(CertificateFacts(
                leaves: ["client-admin.crt": Self.at(200), "serving-kubelet.crt": Self.at(300)],
                authorities: ["server-ca.crt": Self.at(3000)])),
            "a1": observed(CertificateFacts(leaves: ["client-kubelet.crt": Self.at(40)])),
            "a2": .unreachable("timeout"),
        ]
        let certificates = try #require(StoreCertificates(ha, observations: observations))
        #expect(certificates.renewalWindowDays == 60)
        #expect(certificates.hosts.map(\.host) == ["s1", "a1"], "store order; hosts without certificates are left out")
        let leaf = try #require(certificates.earliestLeaf(at: Self.now))
        #expect(leaf.host == "a1" && leaf.name == "client-kubelet.crt" && leaf.daysLeft == 40 && !leaf.isAuthority)
        #expect(certificates.earliestAuthority(at: Self.now)?.name == "server-ca.crt")
        #expect(certificates.deadlines(at: Self.now).map { "\($0.host) \($0.name)" }
            == ["s1 client-admin.crt", "s1 server-ca.crt", "a1 client-kubelet.crt"])
        #expect(StoreCertificates(ha, observations: ["s1": observed(CertificateFacts())]) == nil)

        let plan = Planner(artifacts: LocalArtifacts(byPath: [:])).plan(ha, observations: observations)
        #expect(plan.certificates == certificates, "the planner puts them in the store's plan")
    }

    /// Plans saved before certificates were carried still read.
    @Test func savedPlansWithoutCertificatesRead() throws {
        let json = #"{"store": "a", "actions": [], "problems": [], "factsFingerprint": "f"}"#
        let plan = try JSONDecoder().decode(StorePlan.self, from: Data(json.utf8))
        #expect(plan.certificates == nil && plan.status == .converged)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let withCertificates = storePlan("a", [("pi", CertificateFacts(leaves: ["client-admin.crt": Self.now]))])
        let text = String(decoding: try encoder.encode(withCertificates), as: UTF8.self)
        #expect(text.contains(#""leaves":{"client-admin.crt":"2026-11-30T00:53:20Z"}"#))
        #expect(text.contains(#""renewalWindowDays":90"#))
    }

    @Test func wording() {
        #expect(CertificateText.daysLeft(20) == "20 days left")
        #expect(CertificateText.daysLeft(1) == "1 day left")
        #expect(CertificateText.daysLeft(0) == "less than a day left")
        #expect(CertificateText.daysLeft(-1) == "expired less than a day ago")
        #expect(CertificateText.daysLeft(-2) == "expired 1 day ago")
        #expect(CertificateText.daysLeft(-4) == "expired 3 days ago")
        #expect(CertificateText.window(20, 90) == "inside the 90-day renewal window")
        #expect(CertificateText.window(89, 90) == "inside the 90-day renewal window")
        #expect(CertificateText.window(90, 90) == "the 90-day renewal window starts in 1 day")
        #expect(CertificateText.window(110, 90) == "the 90-day renewal window starts in 21 days")
        #expect(CertificateText.date(Self.now) == "2026-11-30")
    }

    @Test func planShowsOnlyCertificatesInsideOrNearTheWindow() {
        let stores = [
            storePlan("due", [("pi", CertificateFacts(leaves: ["client-admin.crt": Self.at(20.5), "serving-kubelet.crt": Self.at(21)]))]),
            storePlan("near", [("pi", CertificateFacts(leaves: ["serving-kubelet.crt": Self.at(110.2)]))]),
            storePlan("far", [("pi", CertificateFacts(leaves: ["serving-kubelet.crt": Self.at(120.2)]))]),
            storePlan("dead", [("pi", CertificateFacts(leaves: ["client-kubelet.crt": Self.at(-3.5)]))]),
            storePlan("own", window: 30, [("pi", CertificateFacts(leaves: ["client-admin.crt": Self.at(50.5)]))]),
            storePlan("own-quiet", window: 30, [("pi", CertificateFacts(leaves: ["client-admin.crt": Self.at(60.5)]))]),
            storePlan("ca", [("s1", CertificateFacts(
                leaves: ["client-admin.crt": Self.at(300)], authorities: ["server-ca.crt": Self.at(80.5)]))]),
            StorePlan(store: "bare", actions: [], problems: [], factsFingerprint: "f"),
        ]
        let text = PlanText(style: TerminalStyle(colors: false))
            .render(Plan(inventoryFiles: [], stores: stores, createdAt: Self.now))
        #expect(text.contains("""

            Certificates:
              due: 20 days left (client-admin.crt on pi, 2026-12-20) — inside the 90-day renewal window
              near: 110 days left (serving-kubelet.crt on pi, 2027-03-20) — the 90-day renewal window starts in 21 days
              dead: expired 3 days ago (client-kubelet.crt on pi, 2026-11-26) — inside the 90-day renewal window
              own: 50 days left (client-admin.crt on pi, 2027-01-19) — the 30-day renewal window starts in 21 days
              ca: CA 80 days left (server-ca.crt on s1, 2027-02-18) — k3s certificate rotate-ca replaces it

            Nothing to do: every store matches the inventory.

            """), "\(text)")
        #expect(!text.contains("far:"), "120 days left is more than 30 days before a 90-day window")
        #expect(!text.contains("own-quiet:"), "60 days left is 30 days before the store's own 30-day window: quiet")
        let quiet = PlanText(style: TerminalStyle(colors: false))
            .render(Plan(inventoryFiles: [], stores: [stores[2], stores[7]], createdAt: Self.now))
        #expect(!quiet.contains("Certificates"))
    }

    @Test func planGroupsStoresThatShareANote() {
        let stores = (1...10).map { i in
            storePlan("shop-\(i)", [("pi-\(i)", CertificateFacts(leaves: ["client-admin.crt": Self.at(20.1 + Double(i) / 100)]))])
        }
        let text = PlanText(style: TerminalStyle(colors: false))
            .render(Plan(inventoryFiles: [], stores: stores, createdAt: Self.now))
        #expect(text.contains("""
              10 stores (shop-1, shop-2, shop-3, shop-4, shop-5, shop-6, shop-7, shop-8, … +2 more): 20 days left \
            (client-admin.crt, 2026-12-20) — inside the 90-day renewal window\n
            """), "\(text)")
    }

    @Test func statusLiveHasACertificatesColumn() {
        var plan = Plan(inventoryFiles: [], stores: [
            storePlan("one", [("pi", CertificateFacts(leaves: ["client-admin.crt": Self.at(287.5)], authorities: ["server-ca.crt": Self.at(3000)]))]),
            storePlan("ha", window: 60, [
                ("s1", CertificateFacts(leaves: ["client-admin.crt": Self.at(300)], authorities: ["server-ca.crt": Self.at(200.5)])),
                ("a1", CertificateFacts(leaves: ["client-kubelet.crt": Self.at(20.5)])),
            ]),
            StorePlan(store: "new", actions: [PlannedAction(.install, host: "pi", reason: "not installed")], problems: [], factsFingerprint: "f"),
        ], createdAt: Self.now)
        let rows = StoreStatus.fromPlan(plan)
        #expect(rows[1].certificates?.map(\.daysLeft) == [300, 200, 20])
        #expect(rows[1].renewalWindowDays == 60)
        #expect(rows.map(\.certificatesCell) == ["287d", "20d (a1), CA 200d", "-"])
        #expect(StatusTable.render(rows, style: TerminalStyle(colors: false)) == """
            STORE  STATE      WHEN  RUN  CERTS              DETAIL
            one    converged  -     -    287d               
            ha     converged  -     -    20d (a1), CA 200d  
            new    changes    -     -    -                  1 action(s) pending
            1 changes, 2 converged

            """)
        let coloured = StatusTable.render(rows, style: TerminalStyle(colors: true))
        #expect(coloured.contains("\u{1b}[33m20d (a1), CA 200d"), "inside the store's 60-day window: yellow")
        plan.stores[0].certificates?.hosts[0].leaves["client-admin.crt"] = Self.at(-1)
        #expect(StatusTable.render(StoreStatus.fromPlan(plan), style: TerminalStyle(colors: true)).contains("\u{1b}[31m-1d"))
    }
}
