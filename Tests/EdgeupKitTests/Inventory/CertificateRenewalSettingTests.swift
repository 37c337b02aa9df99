import EdgeupKit
import Foundation
import Testing

/// `k3s.certificateRenewalDays`: fleet-wide in defaults, per store, default 90, checked with its location.
@Suite struct CertificateRenewalSettingTests {
    @Test func defaultsStoresAndTheDefault() throws {
        let inventory = try #require(load("""
            defaults:
              k3s: {version: v1.31.4+k3s1, certificateRenewalDays: 120}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
              - name: s2
                k3s: {certificateRenewalDays: 30, config: {disable: [traefik]}}
                hosts: [{address: 10.0.0.2, role: server}]
            """).inventory)
        #expect(inventory.stores[0].certificateRenewalWindow == 120, "the defaults' window")
        #expect(inventory.stores[1].certificateRenewalWindow == 30, "a store's own window wins")
        #expect(inventory.stores[1].k3s.version == "v1.31.4+k3s1", "the rest of k3s still layers")
        let plain = try #require(load("stores:\n  - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}\n").inventory)
        #expect(plain.stores[0].certificateRenewalWindow == 90)
        #expect(plain.stores[0].k3s.certificateRenewalDays == nil)
    }

    @Test func outOfRangeIsAnErrorAtItsLocation() {
        let result = load("""
            defaults:
              k3s: {certificateRenewalDays: 400}
            stores:
              - name: s1
                k3s: {certificateRenewalDays: 0}
                hosts: [{address: 10.0.0.1, role: server}]
            """)
        let error = expectError(result, containing: "defaults.k3s.certificateRenewalDays must be 1 to 364 days, found 400", at: (2, 33))
        #expect(error?.hint?.contains("365 days") == true)
        expectError(result, containing: "store 's1' k3s.certificateRenewalDays must be 1 to 364 days, found 0", at: (5, 35))
    }

    @Test func aDurationIsNotANumber() {
        let result = load("""
            stores:
              - name: s1
                k3s:
                  certificateRenewalDays: 90d
                hosts: [{address: 10.0.0.1, role: server}]
            """)
        let error = expectError(result, containing: "certificateRenewalDays must be a whole number, found '90d'", at: (4, 31))
        #expect(error?.hint == "a number of days, e.g. certificateRenewalDays: 90")
        #expect(expectError(load("defaults:\n  k3s: {certificateRenewalDay: 90}\nstores: []\n"), containing: "unknown key 'certificateRenewalDay'")?
            .hint?.contains("did you mean 'certificateRenewalDays'?") == true)
    }

    /// Inventories that do not set it keep the fingerprint they had (saved plans stay valid).
    @Test func unsetIsNotEncoded() throws {
        let unset = String(decoding: try JSONEncoder().encode(K3sSettings()), as: UTF8.self)
        #expect(!unset.contains("certificateRenewalDays"))
        let set = try JSONEncoder().encode(K3sSettings(certificateRenewalDays: 60))
        #expect(try JSONDecoder().decode(K3sSettings.self, from: set).certificateRenewalDays == 60)
    }
}
