import EdgeupTestSupport
import Foundation
import Testing

/// `edgeup reset` (issue #15): two stores torn down to clean hosts and their kubeconfig entries
/// gone, the other stores untouched; refused without --yes off a terminal, and for a protected
/// store even with it.
extension LabTests {
@Suite struct ResetTests {
    static let spec = """
        stores:
          - {name: shop, servers: 1, agents: 1}
          - {name: trio, servers: 3, agents: 0}
          - {name: keep, servers: 1, agents: 0}
          - {name: vault, servers: 1, agents: 0}
        """

    @Test func twoStoresAreResetAndTheOthersUntouched() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.91.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s", stores: ["vault": "protected: true"])
            let kubeconfig = lab.directory + "/kubeconfig"
            let env = ["KUBECONFIG": kubeconfig, "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            let formed = try edgeup(["apply", inventory], environment: env)
            try #require(formed.status == 0, "\(formed.stderr)")

            let unconfirmed = try edgeup(["reset", inventory, "--stores", "shop"], environment: env)
            #expect(unconfirmed.status == 2)
            #expect(unconfirmed.stderr.contains("there is no terminal to confirm on: pass --yes"), "\(unconfirmed.stderr)")
            let everything = try edgeup(["reset", inventory, "--yes"], environment: env)
            #expect(everything.status != 0 && everything.stderr.contains("reset needs --stores or --selector"), "\(everything.stderr)")
            let protected = try edgeup(["reset", inventory, "--stores", "vault", "--stores", "keep", "--yes"], environment: env)
            #expect(protected.status == 2)
            #expect(protected.stderr.contains("refusing to reset protected store (protected: true in the inventory): vault"), "\(protected.stderr)")
            for host in ["shop-s1", "vault-s1", "keep-s1"] {
                #expect(try lab.exec(host, "test -x /usr/local/bin/k3s").status == 0, "\(host) untouched by the refusals")
            }

            let reset = try edgeup(["reset", inventory, "--stores", "shop", "--stores", "trio", "--yes"], environment: env)
            #expect(reset.status == 0, "\(reset.stderr)")
            #expect(reset.stderr.contains("reset          2") && reset.stderr.contains("Every selected store reset."), "\(reset.stderr)")
            for host in ["shop-s1", "shop-a1", "trio-s1", "trio-s2", "trio-s3"] {
                let left = try lab.exec(host, """
                    for path in /usr/local/bin/k3s /usr/local/bin/k3s-uninstall.sh /usr/local/bin/k3s-agent-uninstall.sh \
                        /usr/local/bin/k3s-killall.sh /etc/rancher/k3s /var/lib/rancher/k3s /var/lib/edgeup \
                        /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service; do
                        [ -e "$path" ] && echo "$path"
                    done
                    """).stdout
                #expect(left.isEmpty, "\(host) is clean, but has: \(left)")
                // The pattern as written ("[k]3s") does not match this command line itself.
                let running = try lab.exec(host, "pgrep -a -f '[k]3s' || true").stdout
                #expect(running.isEmpty, "\(host) runs nothing of k3s: \(running)")
            }
            let contexts = try runProcess("/usr/bin/env", ["KUBECONFIG=\(kubeconfig)", "kubectl", "config", "get-contexts", "-o", "name"])
            #expect(Set(contexts.stdout.split(separator: "\n")) == ["keep", "vault"], "\(contexts.stdout)")
            #expect(reset.stderr.contains("kubeconfig: removed shop, trio") || reset.stderr.contains("kubeconfig: removed trio, shop"))
            let keep = try lab.exec("keep-s1", "k3s kubectl get nodes --no-headers")
            #expect(keep.stdout.contains(" Ready "), "the other stores still run: \(keep.stdout)\(keep.stderr)")

            let status = try edgeup(["status", inventory], environment: env)
            #expect(status.stdout.contains("reset"), "status shows the reset stores: \(status.stdout)")
            let again = try edgeup(["plan", inventory, "--stores", "shop", "--detailed-exitcode"], environment: env)
            #expect(again.status == 2 && again.stdout.contains("install"), "a reset store installs again: \(again.stdout)")
        }
    }
}
}
