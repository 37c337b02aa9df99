import EdgeupTestSupport
import Foundation
import Testing

/// `--command-timeout`: a command that runs too long fails with its host, step and limit, and
/// does not keep running on the host; `--connect-timeout` overrides the inventory's.
extension LabTests {
@Suite struct CommandTimeoutTests {
    static let spec = """
        stores:
          - {name: slow, servers: 1, agents: 0}
        """

    @Test func aCommandThatTakesTooLongIsStoppedOnTheHost() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.83.0.0/16") { lab in
            let env = ["EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            let started = Date()
            let run = try edgeup(["exec", lab.inventory, "--sudo", "--command-timeout", "2", "--", "sleep", "4242"], environment: env)
            #expect(run.status == 1)
            #expect(Date().timeIntervalSince(started) < 20)
            #expect(run.stderr.contains("slow/slow-s1: exec: the command did not finish within 2.0 seconds"), "\(run.stderr)")
            var left = ""
            for _ in 0..<50 {
                left = try lab.exec("slow-s1", "pgrep -a -f 'slee[p] 4242'; true").stdout
                if left.isEmpty { break }
                usleep(200_000)
            }
            #expect(left.isEmpty, "still running on the host: \(left)")

            // The host drops off the network mid-command: keepalives notice it well before the
            // command's 10 minutes are up.
            let cutter = onThread { _ in
                usleep(3_000_000)
                try? lab.host("cut", "slow-s1")
            }
            let dropped = Date()
            let gone = try edgeup(["exec", lab.inventory, "--command-timeout", "600", "--", "sleep", "300"], environment: env)
            cutter.done.wait()
            #expect(gone.status == 1)
            #expect(Date().timeIntervalSince(dropped) < 60, "a dead host stalled the run: \(gone.stderr)")
            #expect(gone.stderr.contains("slow/slow-s1: exec: "), "\(gone.stderr)")

            // Still cut: the flag, not the inventory's 60 s, bounds the connect.
            let patched = try String(contentsOfFile: lab.inventory, encoding: .utf8)
                .replacingOccurrences(of: "sudo: true}", with: "sudo: true, connectTimeout: 60}")
            let inventory = lab.directory + "/slow-connect.yaml"
            try patched.write(toFile: inventory, atomically: true, encoding: .utf8)
            let cutAt = Date()
            let cut = try edgeup(["exec", inventory, "--connect-timeout", "2", "--", "true"], environment: env)
            #expect(cut.status == 1)
            #expect(Date().timeIntervalSince(cutAt) < 15, "\(cut.stderr)")
            #expect(cut.stderr.contains("slow/slow-s1: connect: "), "\(cut.stderr)")
        }
    }
}
}
