import EdgeupTestSupport
import Foundation
import Testing

/// `edgeup apply` on a real terminal (tmux): the live view redraws one progress block in place
/// while stores converge, then leaves the summary.
extension LabTests {
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "needs tmux (make deps installs it)"))
struct LiveViewTests {
    static let spec = """
        stores:
          - {name: live-1, servers: 1, agents: 1}
          - {name: live-2, servers: 1, agents: 0}
          - {name: live-3, servers: 1, agents: 0}
          - {name: live-4, servers: 1, agents: 0}
          - {name: live-5, servers: 1, agents: 0}
          - {name: live-6, servers: 1, agents: 0}
        """

    func tmux(_ arguments: [String]) throws -> ProcessRun {
        try runProcess("/usr/bin/tmux", ["-L", "edgeup-live-test"] + arguments)
    }

    @Test func applyDrawsAProgressBlockInPlaceAndEndsWithTheSummary() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.87.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s")
            let command = [
                "env", "-u", "NO_COLOR", "-u", "CI", "KUBECONFIG=\(lab.directory)/kubeconfig", "EDGEUP_STATE_DIR=\(lab.directory)/state", "TERM=xterm-256color",
                edgeupExecutable, "apply", inventory, "--max-concurrent-stores", "2",
            ].map { "'\($0)'" }.joined(separator: " ")
            _ = try? tmux(["kill-server"])
            // The tmux server lives on after its client: it must not inherit this process's pipes
            // (Foundation's Process leaves extra descriptors open: reading them would never end)
            // nor the signal mask of a Swift concurrency thread (it could not be stopped).
            let started = try runProcess("/usr/bin/python3", [
                "-c", """
                import signal, subprocess, sys
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                sys.exit(subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                """,
                "/usr/bin/tmux", "-L", "edgeup-live-test", "new-session", "-d", "-s", "live", "-x", "150", "-y", "50",
                "\(command); echo EXIT=$?; sleep 300",
            ])
            #expect(started.status == 0, "\(started.stderr)")
            defer { _ = try? tmux(["kill-server"]) }

            // Watch the screen until the command has exited.
            var screens: [String] = []
            let deadline = Date().addingTimeInterval(240)
            while Date() < deadline {
                let screen = try tmux(["capture-pane", "-p", "-t", "live"]).stdout
                if screens.last != screen { screens.append(screen) }
                if screen.contains("EXIT=") { break }
                usleep(100_000)
            }
            let last = try #require(screens.last)
            #expect(last.contains("EXIT=0"), "\(last)")

            // While running: the bar with counts and the active stores with their current step.
            let progress = screens.filter { $0.contains("] ") && $0.contains(" left") }
            #expect(progress.count >= 3, "saw \(progress.count) progress screens of \(screens.count); last:\n\(last)")
            #expect(progress.contains { $0.contains("· ETA ") }, "an ETA once a store finished")
            #expect(progress.contains { screen in
                screen.split(separator: "\n").contains { $0.hasPrefix("  live-") && $0.contains(": live-") && ($0.contains(" install") || $0.contains(" start")) }
            }, "active stores with host and step")
            // Never more than the concurrency limit of active stores on screen.
            for screen in progress {
                let active = screen.split(separator: "\n").filter { $0.hasPrefix("  live-") && $0.contains(": live-") }
                #expect(active.count <= 2, "\(screen)")
            }
            // Redrawn in place: one bar on the screen at any time, none left behind at the end.
            for screen in screens {
                #expect(screen.split(separator: "\n").filter { $0.hasPrefix("[") && $0.contains(" left") }.count <= 1, "\(screen)")
            }
            #expect(last.contains("converged      6"), "\(last)")
            #expect(last.contains("Every selected store converged."))
        }
    }
}
}
