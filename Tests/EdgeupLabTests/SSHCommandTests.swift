import EdgeupTestSupport
import Foundation
import Testing

/// `edgeup ssh` to a store behind its gateway behind a bastion (a two-hop chain): on a real
/// terminal (tmux) a shell with a prompt, the window size and its changes, the exit status and the
/// terminal restored; without a terminal, commands with their output, stdin and status; and
/// failures that name the hop.
extension LabTests {
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "needs tmux (make deps installs it)"))
struct SSHCommandTests {
    static let spec = """
        bastions:
          - {name: bastion-sh}
        stores:
          - {name: shop, servers: 1, agents: 1, gateway: true, via: bastion-sh}
        """
    static let subnet = "10.97.0.0/16"
    static let socket = "edgeup-ssh-test"

    func tmux(_ arguments: [String]) throws -> ProcessRun {
        try runProcess("/usr/bin/tmux", ["-L", Self.socket] + arguments)
    }

    /// Starts `words` in a detached tmux window of 120×40; when edgeup ends the window shows its
    /// status and whether the terminal is back in cooked mode (`stty -a`), then DONE.
    func startInTmux(_ words: [String]) throws {
        let command = (["env", "TERM=xterm-256color", edgeupExecutable] + words).map { "'\($0)'" }.joined(separator: " ")
        _ = try? tmux(["kill-server"])
        // As in LiveViewTests: the tmux server must not inherit this process's pipes nor the
        // signal mask of a Swift concurrency thread.
        let started = try runProcess("/usr/bin/python3", [
            "-c", """
            import signal, subprocess, sys
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            sys.exit(subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            """,
            "/usr/bin/tmux", "-L", Self.socket, "new-session", "-d", "-s", "ssh", "-x", "120", "-y", "40",
            "\(command); echo EXIT=$?; stty -a | grep -o -e ' -*icanon' -e ' -*echo ' | tr -d '\\n'; echo; echo DONE; sleep 300",
        ])
        #expect(started.status == 0, "\(started.stderr)")
    }

    /// The screen once it shows `text` (the last screen seen when it never does).
    func screen(showing text: String, within seconds: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var screen = ""
        while Date() < deadline {
            screen = try tmux(["capture-pane", "-p", "-t", "ssh"]).stdout
            if screen.contains(text) { return screen }
            usleep(100_000)
        }
        Issue.record("the screen never showed '\(text)':\n\(screen)")
        return screen
    }

    func type(_ line: String) throws {
        _ = try tmux(["send-keys", "-t", "ssh", "-l", line])
        _ = try tmux(["send-keys", "-t", "ssh", "Enter"])
    }

    @Test func aShellOnAPseudoTerminalThroughTwoGateways() async throws {
        try await Lab.with(spec: Self.spec, subnet: Self.subnet) { lab in
            defer { _ = try? tmux(["kill-server"]) }
            try startInTmux(["ssh", lab.inventory, "shop/shop-a1"])
            _ = try screen(showing: "edge@shop-a1:~$")

            // The command runs remotely ($((…)) is only evaluated there), on a pty with our $TERM.
            try type(#"echo "sum=$((6*7)) term=$TERM"; tty"#)
            let ran = try screen(showing: "/dev/pts/")
            #expect(ran.contains("sum=42 term=xterm-256color"), "\(ran)")
            #expect(ran.contains("/dev/pts/"), "\(ran)")

            // The window size, and a change of it, reach the remote pty.
            try type("stty size")
            _ = try screen(showing: "40 120")
            _ = try tmux(["resize-window", "-t", "ssh", "-x", "90", "-y", "30"])
            usleep(300_000)
            try type("stty size")
            _ = try screen(showing: "30 90")

            // ^C goes to the remote foreground program as a byte (raw mode), not to edgeup.
            try type("sleep 60")
            usleep(300_000)
            _ = try tmux(["send-keys", "-t", "ssh", "C-c"])
            try type("echo after-interrupt")
            _ = try screen(showing: "after-interrupt\n")

            try type("exit 3")
            let last = try screen(showing: "DONE")
            #expect(last.contains("EXIT=3"), "\(last)")
            #expect(last.contains(" icanon echo"), "the terminal is back in cooked mode with echo: \(last)")
        }
    }

    @Test func aRootShellWithSudoAndSIGTERMRestoresTheTerminal() async throws {
        try await Lab.with(spec: Self.spec, subnet: Self.subnet) { lab in
            defer { _ = try? tmux(["kill-server"]) }
            // Without a host: the store's first server.
            try startInTmux(["ssh", lab.inventory, "shop", "--sudo"])
            _ = try screen(showing: "root@shop-s1:~#")
            try type("echo uid=$(id -u) home=$HOME")
            _ = try screen(showing: "uid=0 home=/root")

            let pane = try tmux(["display", "-p", "-t", "ssh", "#{pane_pid}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let child = try runProcess("/usr/bin/pgrep", ["-P", pane, "-x", "edgeup"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let pid = try #require(Int32(child), "edgeup under the pane's shell \(pane)")
            #expect(kill(pid, SIGTERM) == 0)
            let last = try screen(showing: "DONE")
            #expect(last.contains("EXIT=143"), "\(last)")
            #expect(last.contains(" icanon echo"), "restored after SIGTERM too: \(last)")
        }
    }

    @Test func aSudoPasswordIsAnsweredWithoutATerminalAndTypedOnOne() async throws {
        try await Lab.with(spec: Self.spec, subnet: Self.subnet) { lab in
            defer { _ = try? tmux(["kill-server"]) }
            let password = "Lab-ssh-sud0-4e1b"
            let setup = try lab.exec("shop-s1", "echo 'edge:\(password)' | chpasswd && echo 'edge ALL=(ALL) ALL' > /etc/sudoers.d/edge")
            #expect(setup.status == 0, "\(setup.stderr)")
            let text = try String(contentsOfFile: lab.inventory, encoding: .utf8)
            let patched = text.replacingOccurrences(of: "sudo: true}", with: "sudo: true, sudoPasswordEnv: EDGEUP_LAB_SUDO}")
            #expect(patched != text, "the lab inventory's ssh defaults changed shape")
            let inventory = lab.directory + "/sudo-password.yaml"
            try patched.write(toFile: inventory, atomically: true, encoding: .utf8)

            // Without a terminal: written only in answer to sudo's prompt; stdin follows once sudo ran.
            let piped = "printf 'typed-line\\n' | \"$0\" ssh \"$1\" shop --sudo -- 'id -u; cat'"
            let answered = try runProcess("/bin/sh", ["-c", piped, edgeupExecutable, inventory], environment: ["EDGEUP_LAB_SUDO": password])
            #expect(answered.status == 0, "\(answered.stderr)")
            #expect(answered.stdout == "0\ntyped-line\n", "\(answered.stdout)")
            #expect(!answered.stdout.contains(password) && !answered.stderr.contains(password))
            let wrong = try runProcess("/bin/sh", ["-c", piped, edgeupExecutable, inventory], environment: ["EDGEUP_LAB_SUDO": "not-it"])
            #expect(wrong.status == 255)
            #expect(wrong.stderr.contains("edgeup: shop/shop-s1: exec: sudo password rejected for user edge"), "\(wrong.stderr)")
            #expect(!wrong.stdout.contains("typed-line"), "nothing typed reaches a command sudo did not run")

            // On a terminal sudo asks there, and the operator types it (no variable needed).
            try startInTmux(["ssh", inventory, "shop", "--sudo"])
            _ = try screen(showing: "[sudo] password for edge:")
            try type(password)
            _ = try screen(showing: "root@shop-s1:~#")
            try type("echo uid=$(id -u); exit 9")
            let last = try screen(showing: "DONE")
            #expect(last.contains("uid=0") && last.contains("EXIT=9"), "\(last)")
            #expect(!last.contains(password), "sudo does not echo it")
        }
    }

    @Test func commandsWithoutATerminalKeepTheirStreamsStdinAndStatus() async throws {
        try await Lab.with(spec: Self.spec, subnet: Self.subnet) { lab in
            let run = try edgeup(["ssh", lab.inventory, "shop", "--", "sh", "-c", "echo out-$(hostname); echo err >&2; exit 7"])
            #expect(run.status == 7, "\(run.stderr)")
            #expect(run.stdout == "out-shop-s1\n", "\(run.stdout)")
            #expect(run.stderr == "err\n", "stdout and stderr stay apart, nothing else on stderr: \(run.stderr)")

            // stdin streams to the command; a shell without a command reads it. Killed by a signal: 128+n.
            let piped = try runProcess("/bin/sh", ["-c", "printf 'one\\ntwo\\n' | \"$0\" ssh \"$1\" shop/shop-a1 -- 'wc -l; kill -TERM $$'", edgeupExecutable, lab.inventory])
            #expect(piped.stdout.trimmingCharacters(in: .whitespaces) == "2\n", "\(piped.stdout)")
            #expect(piped.status == 143, "\(piped.stderr)")
            let script = try runProcess("/bin/sh", ["-c", "printf 'id -u\\nexit 4\\n' | \"$0\" ssh \"$1\" shop --sudo", edgeupExecutable, lab.inventory])
            #expect(script.stdout == "0\n" && script.status == 4, "\(script.stdout)\(script.stderr)")

            // A reader that goes away ends the session as SIGPIPE would end a local writer.
            let head = try runProcess("/bin/sh", ["-c", "{ timeout 30 \"$0\" ssh \"$1\" shop -- yes; echo \"edgeup=$?\" >&2; } | head -n 2", edgeupExecutable, lab.inventory])
            #expect(head.stdout == "y\ny\n" && head.stderr.contains("edgeup=141"), "\(head.stdout)\(head.stderr)")

            // EDGEUP_INVENTORY names the inventory when no file is given.
            let viaEnvironment = try edgeup(["ssh", "shop/shop-a1", "--", "hostname"], environment: ["EDGEUP_INVENTORY": "/nonexistent.yaml:" + lab.inventory])
            #expect(viaEnvironment.status == 2, "a missing file in the list is an inventory error: \(viaEnvironment.stderr)")
            let found = try edgeup(["ssh", "shop/shop-a1", "--", "hostname"], environment: ["EDGEUP_INVENTORY": lab.inventory])
            #expect(found.status == 0 && found.stdout == "shop-a1\n", "\(found.stdout)\(found.stderr)")

            let store = try edgeup(["ssh", lab.inventory, "shpo", "--", "true"])
            #expect(store.status == 255)
            #expect(store.stderr.contains("no store 'shpo' in the inventory; did you mean 'shop'?"), "\(store.stderr)")
            let host = try edgeup(["ssh", lab.inventory, "shop/shop-s9", "--", "true"])
            #expect(host.status == 255)
            #expect(host.stderr.contains("store shop has no host 'shop-s9'") && host.stderr.contains("its hosts: shop-s1, shop-a1"), "\(host.stderr)")
        }
    }

    @Test func brokenHopsAndUnknownHostKeysNameTheHop() async throws {
        try await Lab.with(spec: Self.spec, subnet: Self.subnet) { lab in
            // The store's gateway does not answer SSH: the bastion cannot reach it.
            try lab.host("kill-sshd", "shop-gw")
            let broken = try edgeup(["ssh", lab.inventory, "shop", "--", "true"])
            #expect(broken.status == 255)
            #expect(broken.stderr.contains("edgeup: shop/shop-s1: connect: gateway shop-gw failed at connect: gateway bastion-sh could not open a connection to"),
                    "\(broken.stderr)")
            try lab.host("start-sshd", "shop-gw")

            // The bastion is cut off: the outermost hop is named.
            try lab.host("cut", "bastion-sh")
            let cut = try edgeup(["ssh", lab.inventory, "shop/shop-a1", "--connect-timeout", "2", "--", "true"])
            #expect(cut.status == 255)
            #expect(cut.stderr.contains("gateway bastion-sh failed at connect: no TCP connection to"), "\(cut.stderr)")
            try lab.host("restore", "bastion-sh")

            // known_hosts without the host's entry under its route: refused at the host key step.
            let known = lab.directory + "/known_hosts.partial"
            let lines = try String(contentsOfFile: lab.directory + "/known_hosts", encoding: .utf8)
                .split(separator: "\n").filter { !$0.hasPrefix("bastion-sh/shop-gw/192.168.50.11 ") }
            try (lines.joined(separator: "\n") + "\n").write(toFile: known, atomically: true, encoding: .utf8)
            let text = try String(contentsOfFile: lab.inventory, encoding: .utf8)
            let patched = text.replacingOccurrences(of: "knownHostsFile: ./known_hosts,", with: "knownHostsFile: ./known_hosts.partial,")
            #expect(patched != text, "the lab inventory's ssh defaults changed shape")
            let inventory = lab.directory + "/partial.yaml"
            try patched.write(toFile: inventory, atomically: true, encoding: .utf8)
            let unknown = try edgeup(["ssh", inventory, "shop", "--", "true"])
            #expect(unknown.status == 255)
            #expect(unknown.stderr.contains("edgeup: shop/shop-s1: host key: bastion-sh/shop-gw/192.168.50.11 is not in \(known)"), "\(unknown.stderr)")
            // The agent's entry is still there: it logs in.
            let agent = try edgeup(["ssh", inventory, "shop/shop-a1", "--", "hostname"])
            #expect(agent.status == 0 && agent.stdout == "shop-a1\n", "\(agent.stderr)")
        }
    }

    @Test func theOpenSSHTransportRunsSSHThroughItsMaster() async throws {
        try await Lab.with(spec: Self.spec, subnet: Self.subnet) { lab in
            defer { _ = try? tmux(["kill-server"]) }
            let text = try String(contentsOfFile: lab.inventory, encoding: .utf8)
            let patched = text.replacingOccurrences(of: "hostKeyPolicy: strict,", with: "hostKeyPolicy: strict, transport: openssh,")
            #expect(patched != text, "the lab inventory's ssh defaults changed shape")
            let inventory = lab.directory + "/openssh.yaml"
            try patched.write(toFile: inventory, atomically: true, encoding: .utf8)

            let run = try edgeup(["ssh", inventory, "shop", "--sudo", "--", "sh", "-c", "echo uid=$(id -u); echo err >&2; exit 6"])
            #expect(run.status == 6, "\(run.stderr)")
            #expect(run.stdout == "uid=0\n" && run.stderr == "err\n", "\(run.stdout)\(run.stderr)")

            try startInTmux(["ssh", inventory, "shop/shop-a1"])
            _ = try screen(showing: "edge@shop-a1:~$")
            try type("stty size")
            _ = try screen(showing: "40 120")
            _ = try tmux(["resize-window", "-t", "ssh", "-x", "90", "-y", "30"])
            usleep(300_000)
            try type("stty size; exit 5")
            let last = try screen(showing: "DONE")
            #expect(last.contains("30 90"), "\(last)")
            #expect(last.contains("EXIT=5"), "\(last)")
            #expect(last.contains(" icanon echo"), "\(last)")
        }
    }
}
}
