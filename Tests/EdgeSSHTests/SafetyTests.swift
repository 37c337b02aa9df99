import EdgeCore
import Foundation
import XCTest

@testable import EdgeSSH

/// What a dead, frozen or killed host or run must not do: hold a connection forever, or leave
/// half-written files and temp files anywhere but beside their target.
extension EdgeSSHTests {
    // MARK: - Dead hosts

    func testEveryTCPConnectionProbesForADeadPeer() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let reactor = Reactor()
        defer { reactor.shutdown() }
        let fd = try await TCPConnector.connect(lab.hop(server, knownHosts: "/dev/null"), reactor: reactor, deadline: Deadline(.seconds(5)))
        defer {
            reactor.forget(fd: fd)
            close(fd)
        }
        func option(_ level: Int32, _ name: Int32) -> Int32 {
            var value: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            XCTAssertEqual(getsockopt(fd, level, name, &value, &length), 0)
            return value
        }
        let tcp = Int32(IPPROTO_TCP)
        XCTAssertEqual(option(SOL_SOCKET, SO_KEEPALIVE), 1)
        let idle = option(tcp, TCP_KEEPIDLE)
        let interval = option(tcp, TCP_KEEPINTVL)
        let probes = option(tcp, TCP_KEEPCNT)
        XCTAssertLessThan(idle + interval * probes, 60, "an idle dead peer is noticed well under a minute")
        let userTimeout = option(tcp, TCP_USER_TIMEOUT)
        XCTAssertGreaterThan(userTimeout, 0)
        XCTAssertLessThan(userTimeout, 60_000, "unacknowledged data gives up well under a minute")
        XCTAssertEqual(option(tcp, TCP_NODELAY), 1)
    }

    func testTimeoutClosesTheConnectionAndStopsTheRemoteCommand() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-timeout", servers: [server])
        for transport in [SSHTransportKind.libssh2, .openssh] {
            for sudo in [SudoMode.none, .passwordless] {
                let client = client()
                let hop = lab.hop(server, user: Lab.nopasswdUser, knownHosts: known, transport: transport, label: "store-1/pi-1")
                let host = try await connect(client, hop)
                let seconds = Int.random(in: 100_000...999_999)  // names this command's process
                let started = ContinuousClock.now
                let timedOut = await expectError { () async throws(SSHError) in
                    try await host.run(RemoteCommand("sleep \(seconds)", sudo: sudo, timeout: .seconds(2)))
                }
                let context = "\(transport), \(sudo)"
                XCTAssertEqual(timedOut?.kind, .timeout, context)
                XCTAssertEqual(timedOut?.hop, "store-1/pi-1")
                XCTAssertEqual(timedOut?.step, .exec)
                XCTAssertTrue(timedOut?.message.contains("did not finish within 2.0 seconds") == true, timedOut?.description ?? "")
                XCTAssertLessThan(ContinuousClock.now - started, .seconds(8), context)

                let next = await expectError { () async throws(SSHError) in try await host.run(RemoteCommand("true")) }
                XCTAssertEqual(next?.kind, .timeout, "the timed-out connection was closed, not reused: \(context)")
                XCTAssertTrue(next?.message.contains("closed when an earlier command timed out") == true, next?.description ?? "")

                let gone = await processesGone(matching: "slee[p] \(seconds)", within: .seconds(10))
                XCTAssertTrue(gone, "the remote sleep still runs after the timeout: \(context)")
                await host.close()
                await client.shutdown()
            }
        }
    }

    /// A command whose connection goes away (edgeup killed, link cut) is stopped on the host.
    func testACommandWhoseConnectionDiesIsStopped() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-abandon", servers: [server])
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let host = try await connect(client, lab.hop(server, user: Lab.nopasswdUser, knownHosts: known, transport: transport))
            let seconds = Int.random(in: 100_000...999_999)
            let task = Task { () async -> SSHError? in
                do throws(SSHError) {
                    _ = try await host.run(RemoteCommand("sleep \(seconds)", sudo: .passwordless))
                    return nil
                } catch {
                    return error
                }
            }
            let running = await poll(within: .seconds(10)) {
                !((try? Lab.sh("sh", "-c", "pgrep -f 'slee[p] \(seconds)' || true")) ?? "").isEmpty
            }
            XCTAssertTrue(running, "\(transport)")
            task.cancel()
            _ = await task.value
            await host.close()
            let gone = await processesGone(matching: "slee[p] \(seconds)", within: .seconds(10))
            XCTAssertTrue(gone, "the remote sleep outlived its connection: \(transport)")
            await client.shutdown()
        }
    }

    /// A frozen host keeps its TCP connection up (its kernel still answers), so only the SSH
    /// keepalives notice it: through a gateway, the only way to.
    func testAHostThatStopsAnsweringFailsAfterItsKeepalives() async throws {
        let lab = try lab()
        let server = try lab.sshd("frozen")
        let known = try lab.knownHosts("kh-frozen", servers: [server])
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = SSHClient(options: SSHClientOptions(
                connectTimeout: .seconds(10), defaultCommandTimeout: .seconds(40), keepaliveInterval: .seconds(1),
                keepaliveCountMax: 3, passphraseProvider: { _ in nil }))
            let host = try await connect(client, lab.hop(server, knownHosts: known, transport: transport))
            let frozen = Locked<pid_t?>(nil)
            // Report the session's sshd process, then freeze it mid-command.
            let findSSHD = #"p=$$; while [ "$(ps -o comm= -p "$p")" != sshd ]; do p=$(ps -o ppid= -p "$p" | tr -d ' '); done; echo "$p"; sleep 30"#
            let started = ContinuousClock.now
            let error = await expectError { () async throws(SSHError) in
                try await host.run(RemoteCommand(findSSHD, onOutput: { chunk in
                    if case .stdout(let data) = chunk, let pid = pid_t(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
                        kill(pid, SIGSTOP)
                        frozen.withLock { $0 = pid }
                    }
                }))
            }
            if let pid = frozen.withLock({ $0 }) {
                kill(pid, SIGKILL)
                kill(pid, SIGCONT)
            }
            XCTAssertNotNil(frozen.withLock { $0 }, "\(transport)")
            XCTAssertEqual(error?.kind, .disconnected, "\(transport): \(error?.description ?? "")")
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(15), "\(transport): noticed by keepalives, not the 40 s timeout")
            if transport == .libssh2 {
                XCTAssertTrue(error?.message.contains("stopped answering") == true, error?.description ?? "")
            }
            await host.close()
            await client.shutdown()
        }
    }

    // MARK: - Remote writes

    func testWritesLandBesideTheTargetAndLeaveNothingBehind() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-write", servers: [server])
        let big = "\(lab.root)/payload-cut.bin"
        if !FileManager.default.fileExists(atPath: big) {
            try Lab.sh("sh", "-c", "head -c 200000000 /dev/urandom > \(big)")
        }
        let medium = "\(lab.root)/payload-medium.bin"
        try Lab.sh("sh", "-c", "head -c 300000 /dev/urandom > \(medium)")
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let folder = "/etc/edgessh-write-\(transport)"
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            // What a write killed with edgeup left: removed by the next write of that target only.
            try "partial".write(toFile: "\(folder)/.edgeup-write.app.conf.k1lled", atomically: false, encoding: .utf8)
            try "other".write(toFile: "\(folder)/.edgeup-write.other.conf.k1lled", atomically: false, encoding: .utf8)
            // Large writes are staged in the login user's own folder: a partial an abandoned write
            // left days ago is swept, a recent one (perhaps still being resumed) stays.
            let uid = try Lab.sh("id", "-u", Lab.nopasswdUser).trimmingCharacters(in: .whitespacesAndNewlines)
            let stagingFolder = "/var/tmp/.edgeup-uploads-\(uid)"
            try? FileManager.default.removeItem(atPath: stagingFolder)
            try FileManager.default.createDirectory(atPath: stagingFolder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            let stale = "\(stagingFolder)/\(String(repeating: "a", count: 64)).partial"
            let fresh = "\(stagingFolder)/\(String(repeating: "b", count: 64)).partial"
            for file in [stale, fresh] { try "x".write(toFile: file, atomically: false, encoding: .utf8) }
            _ = try Lab.sh("chown", "-R", Lab.nopasswdUser, stagingFolder)
            _ = try Lab.sh("touch", "-d", "-2 days", stale)
            func staging() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: stagingFolder)) ?? []).map { "\(stagingFolder)/\($0)" }.sorted()
            }

            let client = client()
            let user = try await connect(client, lab.hop(server, user: Lab.nopasswdUser, knownHosts: known, transport: transport))
            let content = Data("listen: 1883\n".utf8)
            let put = try await user.upload(data: content, to: "\(folder)/app.conf", mode: 0o644, sudo: .passwordless)
            XCTAssertEqual(put, .uploaded(bytes: content.count))
            XCTAssertEqual(FileManager.default.contents(atPath: "\(folder)/app.conf"), content)
            var listing = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            XCTAssertEqual(listing, [".edgeup-write.other.conf.k1lled", "app.conf"], "\(transport): only that target's leftovers go")
            let owner = try await user.run(RemoteCommand(ShellQuote.command(["stat", "-c", "%U %a", "\(folder)/app.conf"])))
            XCTAssertEqual(owner.stdoutText, "root 644\n")
            let again = try await user.upload(data: content, to: "\(folder)/app.conf", mode: 0o644, sudo: .passwordless)
            XCTAssertEqual(again, .unchanged)

            // Larger than the inline limit: staged, then moved beside the target and renamed.
            let staged = try await user.upload(file: medium, to: "\(folder)/medium.bin", mode: 0o755, sudo: .passwordless)
            XCTAssertEqual(staged, .uploaded(bytes: 300_000))
            XCTAssertEqual(FileManager.default.contents(atPath: "\(folder)/medium.bin"), FileManager.default.contents(atPath: medium))
            let mediumOwner = try await user.run(RemoteCommand(ShellQuote.command(["stat", "-c", "%U %a", "\(folder)/medium.bin"])))
            XCTAssertEqual(mediumOwner.stdoutText, "root 755\n")
            XCTAssertEqual(staging(), [fresh], "\(transport): only the day-old partial is swept, the staged copy moved in")

            // A write cut off half-way leaves no temp file or target, only what arrived, in the
            // staging folder; the next write of that content sends the rest (libssh2) or all of it.
            let task = Task { () async -> SSHError? in
                do throws(SSHError) {
                    _ = try await user.upload(file: big, to: "\(folder)/big.bin", mode: 0o755, sudo: .passwordless)
                    return nil
                } catch {
                    return error
                }
            }
            let appeared = await poll(within: .seconds(20)) {
                staging().contains { $0 != fresh && ((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0) > 10_000_000 }
            }
            XCTAssertTrue(appeared, "\(transport): the large write is staged")
            task.cancel()
            let cut = await task.value
            XCTAssertEqual(cut?.kind, .cancelled, "\(transport): \(cut?.description ?? "finished")")
            listing = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            XCTAssertEqual(listing, [".edgeup-write.other.conf.k1lled", "app.conf", "medium.bin"], "\(transport)")
            let partial = try XCTUnwrap(staging().first { $0 != fresh }, "\(transport): what arrived stays")
            let arrived = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int)
            XCTAssertLessThan(arrived, 200_000_000)
            let resumed = try await user.upload(file: big, to: "\(folder)/big.bin", mode: 0o755, sudo: .passwordless)
            XCTAssertEqual(resumed, .uploaded(bytes: transport == .libssh2 ? 200_000_000 - arrived : 200_000_000), "\(transport)")
            XCTAssertEqual(try Lab.sh("sh", "-c", "sha256sum < \(big)"), try Lab.sh("sh", "-c", "sha256sum < \(folder)/big.bin"))
            XCTAssertEqual(staging(), [fresh], "\(transport): the staged copy became the target")

            // A partial that is not the content's beginning is caught by the SHA-256 check before
            // use, removed, and the content sent again whole.
            try Data(repeating: 0, count: 1_000_000).write(to: URL(fileURLWithPath: partial))
            _ = try Lab.sh("chown", Lab.nopasswdUser, partial)
            try? FileManager.default.removeItem(atPath: "\(folder)/big.bin")
            let repaired = try await user.upload(file: big, to: "\(folder)/big.bin", mode: 0o755, sudo: .passwordless)
            XCTAssertEqual(repaired, .uploaded(bytes: transport == .libssh2 ? 200_000_000 - 1_000_000 + 200_000_000 : 200_000_000), "\(transport)")
            XCTAssertEqual(try Lab.sh("sh", "-c", "sha256sum < \(big)"), try Lab.sh("sh", "-c", "sha256sum < \(folder)/big.bin"))
            XCTAssertEqual(staging(), [fresh])
            try? FileManager.default.removeItem(atPath: stagingFolder)
            await user.close()
            await client.shutdown()
        }
    }

    func testWritePlacementStaysBesideTheTarget() throws {
        let placed = try WritePlacement("/etc/rancher/k3s/config.yaml", hop: "h", suffix: "x1")
        XCTAssertEqual(placed, try WritePlacement("/etc/rancher/k3s/config.yaml", hop: "h", suffix: "x1"))
        XCTAssertEqual(placed.folder, "/etc/rancher/k3s")
        XCTAssertEqual(placed.temp, "/etc/rancher/k3s/.edgeup-write.config.yaml.x1")
        XCTAssertEqual(placed.leftovers, "/etc/rancher/k3s/.edgeup-write.config.yaml.")
        XCTAssertEqual(try WritePlacement("/k3s", hop: "h", suffix: "x").folder, "/")
        XCTAssertEqual(try WritePlacement("relative.txt", hop: "h", suffix: "x").temp, ".edgeup-write.relative.txt.x")
        let long = try WritePlacement("/opt/" + String(repeating: "n", count: 250), hop: "h", suffix: "x")
        XCTAssertLessThanOrEqual(long.temp.split(separator: "/").last!.utf8.count, 255)
        XCTAssertThrowsError(try WritePlacement("/etc/rancher/", hop: "h"))
    }

    // MARK: - Helpers

    /// Whether no local process matches `pattern` (pgrep -f; bracket a letter so the pgrep's own
    /// shell does not match) within `limit`. The tests' sshd runs on this machine.
    func processesGone(matching pattern: String, within limit: Duration) async -> Bool {
        await poll(within: limit) {
            (try? Lab.sh("sh", "-c", "pgrep -f '\(pattern)' || true"))?.isEmpty ?? false
        }
    }

    /// Polls `condition` until it holds or `limit` passes.
    func poll(within limit: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
