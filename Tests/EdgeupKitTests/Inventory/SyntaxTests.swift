@testable import EdgeupKit
import Testing

@Suite struct SyntaxTests {
    @Test(arguments: ["10.0.0.1", "192.168.50.10", "::1", "fe80::1", "2001:db8::8a2e:370:7334", "[2001:db8::1]",
        "::ffff:10.0.0.1", "pi-042", "pi-042.store.example.com", "PI.local"])
    func hostAddresses(_ address: String) {
        #expect(Syntax.hostAddressProblem(address) == nil)
    }

    @Test(arguments: ["", "10.0.0.0/24", "http://x", "0.0.0.0", "255.255.255.255", "224.0.0.1", "1.2.3", "1.2.3.4.5",
        "01234.1.1.1", "2001:db8::1::2", "::", "ff02::1", "host:22", "a b", "-bad.example", "under_score"])
    func notHostAddresses(_ address: String) {
        #expect(Syntax.hostAddressProblem(address) != nil)
    }

    @Test func taints() throws {
        #expect(try Syntax.parseTaint("a=b:NoSchedule").get() == Taint(key: "a", value: "b", effect: .noSchedule))
        #expect(try Syntax.parseTaint("example.com/gpu:NoExecute").get().value == nil)
        #expect(try Syntax.parseTaint("a=:PreferNoSchedule").get().value == "")
        #expect((try? Syntax.parseTaint("a=b").get()) == nil)
        #expect((try? Syntax.parseTaint("=b:NoSchedule").get()) == nil)
    }

    @Test func suggestions() {
        #expect(Suggestions.closest(to: "adress", in: ["address", "name", "role"]) == "address")
        #expect(Suggestions.closest(to: "zzzzzz", in: ["address", "name", "role"]) == nil)
        #expect(Suggestions.editDistance("kitten", "sitting") == 3)
    }

    @Test func k3sVersions() {
        #expect(Syntax.k3sVersionProblem("v1.31.4+k3s1") == nil)
        #expect(Syntax.k3sVersionProblem("v1.31.4") == nil)
        #expect(Syntax.k3sVersionProblem("1.31.4+k3s1") != nil)
        #expect(Syntax.k3sVersionProblem("v1.31+k3s1") != nil)
        #expect(Syntax.k3sVersionProblem("v1.31.4+rke2r1") != nil)
    }
}
