import EdgeupTestSupport
import Foundation
import Testing

/// What crosses the edge links: registries configured before k3s first starts, and restarted for
/// when they change.
extension LabTests {
@Suite struct EdgeLinkTests {
    static let spec = """
        stores:
          - {name: ha, servers: 3, agents: 1}
          - {name: calm, servers: 1, agents: 0}
        """

    static let registries = #"registries: {mirrors: {docker.io: {endpoint: ["https://mirror.lab:5000"]}}, configs: {"mirror.lab:5000": {auth: {username: edge, password: !env REG_PASSWORD}}}}"#

    @Test func registriesAreThereAtTheFirstStartAndAChangeRestartsOnlyItsNodesOneAtATime() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.98.0.0/16") { lab in
            _ = try lab.buildDouble()
            let secret = "s3cret-\(UUID().uuidString.prefix(8))"
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1",
                       "REG_PASSWORD": secret]
            let inventory = try lab.inventory(k3s: "binary: ./k3s, " + Self.registries)
            let hosts = ["ha-s1", "ha-s2", "ha-s3", "ha-a1", "calm-s1"]

            let missing = try edgeup(["validate", inventory], environment: env.merging(["REG_PASSWORD": ""]) { $1 })
            #expect(missing.status == 2 && missing.stderr.contains("k3s.registries reads the environment variable REG_PASSWORD, which is not set"),
                    "\(missing.stderr)")

            let plan = try edgeup(["plan", inventory], environment: env)
            #expect(plan.stdout.contains("write-registries") && plan.stdout.contains("registries.yaml missing (docker.io, mirror.lab:5000)"), "\(plan.stdout)")
            let apply = try edgeup(["apply", inventory], environment: env)
            #expect(apply.status == 0, "\(apply.stderr)")
            #expect(!apply.stderr.contains(" restart"), "every node started once, with its registries: \(apply.stderr)")
            for host in hosts {
                let file = try lab.exec(host, "stat -c %a /etc/rancher/k3s/registries.yaml; cat /etc/rancher/k3s/registries.yaml")
                #expect(file.stdout.hasPrefix("600\n") && file.stdout.contains("password: \(secret)"), "\(host): \(file.stdout)")
                // What the double rendered for containerd when it started: only at a start.
                let hostsToml = try lab.exec(host, "cat /var/lib/rancher/k3s/agent/etc/containerd/certs.d/docker.io/hosts.toml")
                #expect(hostsToml.stdout.contains(#"[host."https://mirror.lab:5000"]"#), "\(host): \(hostsToml.stdout) \(hostsToml.stderr)")
            }
            let leaked = try runProcess("/bin/grep", ["-r", "-l", secret, lab.directory + "/state", inventory])
            #expect(leaked.stdout.isEmpty, "the credential is in no journal, state or report: \(leaked.stdout)")
            #expect(!plan.stdout.contains(secret) && !apply.stderr.contains(secret) && !apply.stdout.contains(secret))
            let settled = try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env)
            #expect(settled.status == 0, "\(settled.stdout)")

            // One store's registries change: its nodes restart, one at a time, gated; the other's stay.
            let changed = try lab.inventory(
                k3s: "binary: ./k3s, " + Self.registries,
                stores: ["ha": #"k3s: {registries: {mirrors: {registry.local: {endpoint: ["https://registry.local:5000"]}}}}"#],
                name: "changed.yaml")
            let calmStart = try lab.exec("calm-s1", "stat -c %Y /var/lib/rancher/k3s/agent/etc/containerd/certs.d/docker.io/hosts.toml").stdout
            let replan = try edgeup(["plan", changed, "--detailed-exitcode"], environment: env)
            #expect(replan.status == 2 && replan.stdout.contains("registries.yaml differs"), "\(replan.stdout)")
            #expect(!replan.stdout.contains("calm"), "\(replan.stdout)")
            let earlier = Set((try? FileManager.default.contentsOfDirectory(atPath: lab.directory + "/state/runs")) ?? [])
            let reapply = try edgeup(["apply", changed], environment: env)
            #expect(reapply.status == 0, "\(reapply.stderr)")
            let journal = try lab.journalText(excluding: earlier)
            try UpgradeTests.expectOneAtATime(["ha-s1", "ha-s2", "ha-s3"], then: ["ha-a1"], action: "restart", journal: journal)
            #expect(!journal.contains(#""host":"calm-s1","kind":"step-started""#), "calm is not touched")
            for host in ["ha-s1", "ha-s2", "ha-s3", "ha-a1"] {
                let read = try lab.exec(host, "cat /var/lib/rancher/k3s/agent/etc/containerd/certs.d/registry.local/hosts.toml")
                #expect(read.stdout.contains(#"[host."https://registry.local:5000"]"#), "\(host) read the new file at its restart: \(read.stderr)")
            }
            #expect(try lab.exec("calm-s1", "stat -c %Y /var/lib/rancher/k3s/agent/etc/containerd/certs.d/docker.io/hosts.toml").stdout == calmStart)
            #expect(try edgeup(["plan", changed, "--detailed-exitcode"], environment: env).status == 0)
        }
    }

    /// An image upload through a store's gateway cut at about half resumes where it stopped: the
    /// gateway's WAN interface receives the artifacts about once in total. Images count as present
    /// by SHA-256, not by size.
    @Test func aCutUploadResumesAndImagesAreCheckedBySHA256() async throws {
        try await Lab.with(spec: "stores:\n  - {name: shop, servers: 1, agents: 0, gateway: true}\n", subnet: "10.80.0.0/16") { lab in
            _ = try lab.buildDouble()
            let images = lab.directory + "/k3s-airgap-images-amd64.tar"
            _ = try runProcess("/bin/sh", ["-c", "head -c 24000000 /dev/urandom > \(images)"])
            let sha = String(try runProcess("/usr/bin/sha256sum", [images]).stdout.prefix(64))
            let inventory = try lab.inventory(k3s: "binary: ./k3s, airgapImages: ./k3s-airgap-images-amd64.tar")
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            func received() throws -> Int { try Self.wanBytesReceived(lab, gateway: "shop-gw", subnet: "10.80.") }
            let before = try received()
            #expect(before >= 0, "the gateway's WAN interface counter")

            // Paced to 3 MB/s for the store, so the cut comes at about half.
            let run = try BackgroundEdgeup(["apply", inventory, "--upload-rate-per-store", "3M"], environment: env, in: lab.directory)
            defer { run.stop() }
            let uid = try lab.exec("shop-s1", "id -u edge").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let partial = "/var/tmp/.edgeup-uploads-\(uid)/\(sha).partial"
            var half = false
            for _ in 0..<300 where !half {
                let size = Int(try lab.exec("shop-s1", "stat -c %s \(partial) 2>/dev/null || echo 0").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                half = size >= 12_000_000
                if !half { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(half, "the images upload reached half: \(run.stderr)")
            try lab.host("cut", "shop-gw")
            for _ in 0..<900 where run.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            let ended = !run.isRunning
            try lab.host("restore", "shop-gw")
            #expect(ended, "the cut apply ends (keepalives notice the link)")
            let kept = Int(try lab.exec("shop-s1", "stat -c %s \(partial)").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(kept >= 12_000_000 && kept < 24_000_000, "what arrived stays, never in the images folder: \(kept)")
            #expect(try lab.exec("shop-s1", "ls /var/lib/rancher/k3s/agent/images/ 2>/dev/null").stdout.isEmpty)

            let resumed = try edgeup(["apply", inventory], environment: env)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            let total = try received() - before
            #expect(total >= 24_000_000 && total <= 24_000_000 * 12 / 10, "bytes through the gateway in both runs: \(total) for a 24 MB tarball")
            #expect(try lab.exec("shop-s1", "sha256sum < /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar").stdout.hasPrefix(sha))
            #expect(try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env).status == 0, "verified: nothing to send")

            // Same size, other bytes (a corrupted copy): no longer verified, so checked and sent again.
            try lab.exec("shop-s1", "printf x | dd of=/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar bs=1 seek=1000 conv=notrunc 2>/dev/null; touch -d '-1 hour' /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar")
            let replan = try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env)
            #expect(replan.status == 2 && replan.stdout.contains("k3s-airgap-images-amd64.tar not verified"), "\(replan.stdout)")
            #expect(try edgeup(["apply", inventory], environment: env).status == 0)
            #expect(try lab.exec("shop-s1", "sha256sum < /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar").stdout.hasPrefix(sha))
        }
    }

    /// A store of three hosts behind its gateway receives each artifact over the gateway's WAN
    /// link once: the other hosts copy it from the first across the store's LAN.
    @Test func eachArtifactCrossesTheGatewayLinkOnce() async throws {
        try await Lab.with(spec: "stores:\n  - {name: lan, servers: 1, agents: 2, gateway: true}\n", subnet: "10.78.0.0/16") { lab in
            let binary = try lab.buildDouble()
            let images = lab.directory + "/k3s-airgap-images-amd64.tar"
            _ = try runProcess("/bin/sh", ["-c", "head -c 24000000 /dev/urandom > \(images)"])
            let sha = String(try runProcess("/usr/bin/sha256sum", [images]).stdout.prefix(64))
            let artifacts = 24_000_000 + ((try FileManager.default.attributesOfItem(atPath: binary)[.size] as? Int) ?? 0)
            let inventory = try lab.inventory(k3s: "binary: ./k3s, airgapImages: ./k3s-airgap-images-amd64.tar")
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            func received() throws -> Int { try Self.wanBytesReceived(lab, gateway: "lan-gw", subnet: "10.78.") }
            let before = try received()
            #expect(before >= 0, "the gateway's WAN interface counter")
            let apply = try edgeup(["apply", inventory], environment: env)
            #expect(apply.status == 0, "\(apply.stderr)")
            let total = try received() - before
            #expect(total >= artifacts && total <= artifacts * 12 / 10, "the gateway link carried \(total) bytes for \(artifacts) bytes of artifacts and 3 hosts")
            for host in ["lan-s1", "lan-a1", "lan-a2"] {
                #expect(try lab.exec(host, "sha256sum < /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar").stdout.hasPrefix(sha), "\(host)")
            }
            let logs = try runProcess("/bin/sh", ["-c", "cat \(lab.directory)/state/runs/*/hosts/lan/*.log 2>/dev/null || cat \(lab.directory)/state/runs/*/*.log"]).stdout
            #expect(logs.contains("across the LAN from lan-s1"), "the agents copied from the first server")
            #expect(try lab.exec("lan-s1", "grep -c edgeup-relay /home/edge/.ssh/authorized_keys || true").stdout.hasPrefix("0"),
                    "the relay's keys are gone from the seed")
            #expect(try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env).status == 0)
        }
    }

    /// Bytes the gateway received on its leg in the lab network (its WAN link), -1 if unknown.
    static func wanBytesReceived(_ lab: Lab, gateway: String, subnet: String) throws -> Int {
        let prefix = subnet.replacingOccurrences(of: ".", with: "\\.")
        let script = "cat /sys/class/net/$(ip -o -4 addr show | awk '$4 ~ /^\(prefix)/ { print $2 }')/statistics/rx_bytes"
        return Int(try lab.exec(gateway, script).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
}
