import EdgeupTestSupport
import Foundation
import Testing

/// Failures are per host and per store: each names the host, the step and the reason, and the
/// other stores still converge.
extension LabTests {
@Suite struct FailureTests {
    static let spec = """
        stores:
          - {name: good, servers: 1, agents: 0}
          - {name: arch, servers: 1, agents: 0}
          - {name: port, servers: 1, agents: 0}
          - {name: badcfg, servers: 1, agents: 0}
          - {name: tok, servers: 1, agents: 1}
          - {name: down, servers: 3, agents: 0}
        """

    @Test func failuresAreClearAndContained() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.82.0.0/16") { lab in
            _ = try lab.buildDouble()
            _ = try lab.buildDouble(arch: "arm64", name: "k3s-arm64")
            let inventory = try lab.inventory(k3s: "binary: ./k3s", stores: [
                "arch": "k3s: {binary: ./k3s-arm64}",
                "badcfg": "k3s: {config: {no-such-flag: true}}",
            ])
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            // Something already listens on the API port of one host.
            try lab.exec("port-s1", "setsid python3 -m http.server 6443 >/dev/null 2>&1 < /dev/null & sleep 1")

            // Stop a host of the HA store while it is being installed (from a thread: the test's
            // own task blocks on edgeup).
            let runs = lab.directory + "/state/runs"
            let stopped = Flag()
            let outcome = Transcript()
            let stopper = onThread { stop in
                while !stop.isSet {
                    if Self.journals(in: runs).contains(where: {
                        $0.contains(#""host":"down-s2""#) && $0.contains(#""kind":"step-started""#)
                    }) {
                        // Retried: a fault injector that fails silently turns into a wrong verdict.
                        for attempt in 1...3 {
                            do {
                                try lab.host("stop", "down-s2")
                                stopped.set()
                                return
                            } catch {
                                outcome.append("attempt \(attempt): \(error)")
                                usleep(200_000)
                            }
                        }
                        return
                    }
                    usleep(50_000)
                }
                outcome.append("down-s2 never started a step in the journal")
            }
            let apply = try edgeup(["apply", inventory, "--readiness-timeout", "40"], environment: env)
            stopper.stop.set()
            stopper.done.wait()
            #expect(stopped.isSet, "down-s2 was stopped mid-install: \(outcome.text)")
            #expect(apply.status == 1)
            let summary = apply.stderr
            #expect(summary.contains("converged      2"), "good and tok converge: \(summary)")
            #expect(summary.contains("failed         4"))
            #expect(summary.contains("arch/arch-s1: preflight: "))
            #expect(summary.contains("k3s-arm64 is built for arm64 but the host is amd64 (x86_64)"))
            #expect(summary.contains("port/port-s1: preflight: port 6443 already in use while k3s is not running"))
            #expect(summary.contains("badcfg/badcfg-s1: start: k3s failed to start"))
            #expect(summary.contains("no-such-flag"), "the service log tail names the bad key")
            #expect(summary.contains("down/down-s2: "), "the stopped host is named")

            // A corrupted agent token (agents never get the server token): edgeup hands it to the
            // agent, the server, still running with the real one, refuses the join.
            try lab.exec("tok-s1", "printf '%s' '0000000000000000bad0bad0bad0bad0' > /etc/rancher/k3s/edgeup-agent-token")
            let again = try edgeup(["apply", inventory, "--stores", "tok", "--readiness-timeout", "30"], environment: env)
            #expect(again.status == 1)
            #expect(again.stderr.contains("tok/tok-a1: restart: k3s-agent failed to restart")
                || again.stderr.contains("tok/tok-a1: readiness: timed out"), "\(again.stderr)")
            #expect(again.stderr.lowercased().contains("token"), "the log tail says why: \(again.stderr)")
            #expect(!again.stderr.contains("0000000000000000bad0bad0bad0bad0"), "not even a wrong token is printed")
        }
    }

    /// The lines of every run journal so far, read in-process (a half-written last line is harmless:
    /// the match needs the whole event).
    static func journals(in runs: String) -> [Substring] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? []
        return folders.flatMap { folder -> [Substring] in
            guard let data = FileManager.default.contents(atPath: runs + "/" + folder + "/journal.jsonl") else { return [] }
            return String(decoding: data, as: UTF8.self).split(separator: "\n")
        }
    }
}
}
