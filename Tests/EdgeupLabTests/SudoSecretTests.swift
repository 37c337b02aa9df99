import EdgeupTestSupport
import Foundation
import Testing

/// A sudo password configured for hosts whose sudo never asks for one (the lab's `edge` user
/// has NOPASSWD): edgeup must never send it, so it reaches no command, log, file or output.
extension LabTests {
@Suite struct SudoSecretTests {
    static let spec = """
        stores:
          - {name: shop, servers: 1, agents: 1}
        """
    static let password = "lab-sudo-Pa55-9c1e7f"

    static let playbook = """
        steps:
          - name: settings
            files:
              - path: /etc/edgeup-test/settings.conf
                content: "store={{ store.name }}\\n"
          - name: mark
            commands: ["cat /etc/edgeup-test/settings.conf > /var/lib/edgeup-test-mark"]
        """

    @Test func aSudoPasswordThatSudoNeverAsksForGoesNowhere() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.83.0.0/16") { lab in
            _ = try lab.buildDouble()
            let folder = lab.directory + "/playbooks"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Self.playbook.write(toFile: folder + "/settings.yaml", atomically: true, encoding: .utf8)
            let path = try lab.inventory(k3s: "binary: ./k3s", name: "sudo-secret.yaml")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let patched = text
                .replacingOccurrences(of: "sudo: true}", with: "sudo: true, sudoPasswordEnv: EDGEUP_LAB_SUDO_PASSWORD}")
                .replacingOccurrences(of: "defaults:\n", with: "defaults:\n  playbooks: [settings]\n")
            #expect(patched.contains("sudoPasswordEnv") && patched.contains("playbooks: [settings]"), "the lab inventory changed shape")
            try patched.write(toFile: path, atomically: true, encoding: .utf8)
            let env = [
                "KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1",
                "EDGEUP_LAB_SUDO_PASSWORD": Self.password,
            ]

            let watcher = ArgvWatcher()
            let apply = try watcher.watching { try edgeup(["apply", path, "--playbooks", folder], environment: env) }
            #expect(apply.status == 0, "\(apply.stderr)")
            #expect(apply.stderr.contains("converged      1"), "\(apply.stderr)")
            #expect(try lab.exec("shop-a1", "cat /var/lib/edgeup-test-mark").stdout == "store=shop\n")

            let exec = try edgeup(["exec", path, "--sudo", "--", "cat"], environment: env)
            #expect(exec.status == 0, "\(exec.stderr)")
            #expect(exec.stderr.contains("2 hosts: 2 ok, 0 failed"))
            for run in [apply, exec] {
                #expect(!run.stdout.contains(Self.password) && !run.stderr.contains(Self.password), "printed: \(run.stdout)")
            }
            #expect(!watcher.seen.contains { $0.contains(Self.password) }, "the password appeared in an argv")
            let local = try runProcess("/bin/grep", ["-r", "-l", "-F", Self.password, lab.directory + "/state"])
            #expect(local.stdout.isEmpty, "journal or host logs hold the password: \(local.stdout)")
            for host in ["shop-s1", "shop-a1"] {
                let remote = try lab.exec(host, "grep -r -l -F '\(Self.password)' /etc /var /usr/local /root /home /tmp 2>/dev/null; true")
                #expect(remote.stdout.isEmpty, "\(host) holds the password in \(remote.stdout)")
            }
        }
    }
}
}
