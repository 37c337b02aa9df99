import EdgeCore
import Foundation
import XCTest

@testable import EdgeSSH

final class EdgeSSHTests: XCTestCase {
    nonisolated(unsafe) private static var shared: Result<Lab, Error>?

    func lab() throws -> Lab {
        if Self.shared == nil { Self.shared = Result { try Lab() } }
        return try Self.shared!.get()
    }

    override class func tearDown() {
        if case .success(let lab) = shared { lab.stop() }
        shared = nil
        super.tearDown()
    }

    func client(connectTimeout: Duration = .seconds(10), passphrase: PassphraseProvider? = nil) -> SSHClient {
        SSHClient(options: SSHClientOptions(connectTimeout: connectTimeout, defaultCommandTimeout: .seconds(60),
                                            keepaliveInterval: .seconds(5), passphraseProvider: passphrase ?? { _ in nil }))
    }

    /// The error `body` throws, failing the test when it succeeds.
    func expectError<T>(_ body: () async throws(SSHError) -> T, file: StaticString = #filePath, line: UInt = #line) async -> SSHError? {
        do {
            _ = try await body()
            XCTFail("expected an SSHError", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// Gateways A (127.0.0.1) and B (127.0.0.2) logging forwards, and targets C and D on 127.0.0.3.
    private func gatewaysAndTargets(_ lab: Lab) throws -> (Lab.SSHD, Lab.SSHD, Lab.SSHD, Lab.SSHD) {
        (try lab.sshd("gwA", logLevel: "DEBUG1"), try lab.sshd("gwB", address: "127.0.0.2", logLevel: "DEBUG1"),
         try lab.sshd("targetC", address: "127.0.0.3"), try lab.sshd("targetD", address: "127.0.0.3"))
    }

    func connect(_ client: SSHClient, _ hop: SSHHop, via gateways: [SSHHop] = []) async throws -> any RemoteHost {
        try await client.connect(SSHTarget(host: hop, gateways: gateways))
    }

    // MARK: - Exec

    func testExecStatusOutputSignalAndStdinOnBothTransports() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-exec", servers: [server])
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let host = try await connect(client, lab.hop(server, knownHosts: known, transport: transport))
            let plain = try await host.run(RemoteCommand("echo out; echo err >&2; exit 3"))
            XCTAssertEqual(plain.exitStatus, 3, "\(transport)")
            XCTAssertNil(plain.exitSignal)
            XCTAssertFalse(plain.succeeded)
            XCTAssertEqual(plain.stdoutText, "out\n", "\(transport)")
            XCTAssertEqual(plain.stderrText, "err\n", "\(transport)")

            let killed = try await host.run(RemoteCommand("echo before; kill -TERM $$; echo after"))
            XCTAssertEqual(killed.exitSignal, "TERM", "\(transport)")
            XCTAssertNil(killed.exitStatus, "\(transport)")
            XCTAssertEqual(killed.stdoutText, "before\n")

            let input = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let counted = try await host.run(RemoteCommand("sha256sum", stdin: input))
            XCTAssertEqual(String(counted.stdoutText.prefix(64)), SHA256Digest.hex(input), "\(transport)")

            // Values that would inject without quoting come back verbatim.
            let nasty = ["a b", "it's", "$(id)", "`id`", "x;rm -rf /", "\"q\"", "", "*", "new\nline", "%h"]
            let echoed = try await host.run(RemoteCommand(ShellQuote.command(["printf", "%s|"] + nasty)))
            XCTAssertEqual(echoed.stdoutText, nasty.map { $0 + "|" }.joined(), "\(transport)")
            await host.close()
            await client.shutdown()
        }
    }

    func testMegabytesOfStdoutAndStderrTogetherWithStreaming() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-big", servers: [server])
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let host = try await connect(client, lab.hop(server, knownHosts: known, transport: transport))
            let streamed = Locked((out: 0, err: 0))
            // Interleaved writers: draining one stream first would deadlock at ~2 MB.
            let command = "head -c 6000000 /dev/zero | tr '\\0' o & head -c 5000000 /dev/zero | tr '\\0' e >&2; wait"
            let result = try await host.run(RemoteCommand(command, onOutput: { chunk in
                streamed.withLock {
                    switch chunk {
                    case .stdout(let d): $0.out += d.count
                    case .stderr(let d): $0.err += d.count
                    }
                }
            }))
            XCTAssertEqual(result.exitStatus, 0)
            XCTAssertEqual(result.stdout.count, 6_000_000, "\(transport)")
            XCTAssertEqual(result.stderr.count, 5_000_000, "\(transport)")
            XCTAssertTrue(result.stdout.allSatisfy { $0 == UInt8(ascii: "o") })
            XCTAssertEqual(streamed.withLock { $0.out }, 6_000_000)
            XCTAssertEqual(streamed.withLock { $0.err }, 5_000_000)
            await host.close()
            await client.shutdown()
        }
    }

    func testManyChannelsOnOneConnectionAtOnce() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-multi", servers: [server])
        let client = client()
        let host = try await connect(client, lab.hop(server, knownHosts: known))
        let outputs = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<12 {
                group.addTask {
                    let r = try await host.run(RemoteCommand("head -c \(100_000 * (i + 1)) /dev/zero | tr '\\0' x; echo -n \(i) >&2"))
                    XCTAssertEqual(r.stderrText, "\(i)")
                    return (i, r.stdout.count)
                }
            }
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }
        for i in 0..<12 { XCTAssertEqual(outputs[i], 100_000 * (i + 1)) }
        await host.close()
        await client.shutdown()
    }

    /// A timeout closes the connection instead (SafetyTests).
    func testCancellationClosesTheChannelAndKeepsTheConnection() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-cancel", servers: [server])
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let host = try await connect(client, lab.hop(server, knownHosts: known, transport: transport))
            let started = ContinuousClock.now
            let task = Task { () async -> Result<CommandResult, SSHError> in
                do throws(SSHError) { return .success(try await host.run(RemoteCommand("sleep 20"))) } catch { return .failure(error) }
            }
            try await Task.sleep(for: .milliseconds(500))
            task.cancel()
            let cancelled = await expectError { () async throws(SSHError) in try await task.value.get() }
            XCTAssertEqual(cancelled?.kind, .cancelled, "\(transport)")
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))

            let after = try await host.run(RemoteCommand("echo still-here"))
            XCTAssertEqual(after.stdoutText, "still-here\n", "\(transport)")
            await host.close()
            await client.shutdown()
        }
    }

    // MARK: - Authentication

    func testKeyTypesAndTheRSAMessageOnOldLibSSH2() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-keys", servers: [server])
        let client = client()
        for key in ["id_ed25519", "id_ecdsa"] {
            let host = try await connect(client, lab.hop(server, keys: [lab.key(key)], knownHosts: known))
            let result = try await host.run(RemoteCommand("echo ok"))
            XCTAssertEqual(result.stdoutText, "ok\n", key)
            await host.close()
        }
        let rsa = lab.hop(server, keys: [lab.key("id_rsa")], knownHosts: known)
        if LinkedLibSSH2.canSignRSASHA2 {
            let host = try await connect(client, rsa)
            await host.close()
        } else {
            let error = await expectError { () async throws(SSHError) in try await client.connect(SSHTarget(host: rsa)) }
            XCTAssertEqual(error?.kind, .unsupportedKey)
            XCTAssertEqual(error?.step, .auth)
            XCTAssertTrue(error?.message.contains("older than 1.11") == true, error?.description ?? "")
            XCTAssertTrue(error?.hint?.contains("transport: openssh") == true)
            XCTAssertTrue(error?.hint?.contains("ed25519") == true)
        }
        // The documented way out: the same RSA key through OpenSSH.
        var viaOpenSSH = rsa
        viaOpenSSH.transport = .openssh
        let host = try await connect(client, viaOpenSSH)
        let result = try await host.run(RemoteCommand("echo rsa-ok"))
        XCTAssertEqual(result.stdoutText, "rsa-ok\n")
        await host.close()
        await client.shutdown()
    }

    func testPassphrasesFromEnvironmentProviderAndWrongOnes() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-pass", servers: [server])
        let encrypted = [lab.key("id_encrypted")]
        setenv("EDGESSH_TEST_PASSPHRASE", Lab.keyPassphrase, 1)
        setenv("EDGESSH_TEST_WRONG", "not the passphrase", 1)
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let good = try await connect(client, lab.hop(server, keys: encrypted, knownHosts: known, transport: transport, passphraseEnv: "EDGESSH_TEST_PASSPHRASE"))
            let result = try await good.run(RemoteCommand("echo unlocked"))
            XCTAssertEqual(result.stdoutText, "unlocked\n", "\(transport)")
            await good.close()

            let wrong = await expectError { () async throws(SSHError) in
                try await client.connect(SSHTarget(host: lab.hop(server, keys: encrypted, knownHosts: known, transport: transport, passphraseEnv: "EDGESSH_TEST_WRONG")))
            }
            XCTAssertEqual(wrong?.step, .auth, "\(transport)")
            if transport == .libssh2 {
                XCTAssertEqual(wrong?.kind, .keyFile)
                XCTAssertTrue(wrong?.message.contains("wrong passphrase, or the file is unreadable") == true, wrong?.description ?? "")
            }
            XCTAssertFalse(wrong?.description.contains("not the passphrase") == true, "a passphrase leaked into an error")
            await client.shutdown()
        }
        // No variable: the injected provider answers, once per key file.
        let asked = Locked(0)
        let client = client(passphrase: { request in
            asked.withLock { $0 += 1 }
            return request.keyFile.hasSuffix("id_encrypted") ? Secret(Lab.keyPassphrase) : nil
        })
        for _ in 0..<2 {
            let host = try await connect(client, lab.hop(server, keys: encrypted, knownHosts: known))
            await host.close()
        }
        XCTAssertEqual(asked.withLock { $0 }, 1)
        // A missing key file is reported as such.
        let missing = await expectError { () async throws(SSHError) in
            try await client.connect(SSHTarget(host: lab.hop(server, keys: [lab.root + "/no-such-key"], knownHosts: known)))
        }
        XCTAssertEqual(missing?.kind, .keyFile)
        XCTAssertTrue(missing?.message.contains("cannot read it") == true, missing?.description ?? "")
        await client.shutdown()
    }

    func testAgentAfterConfiguredKeys() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-agent", servers: [server])
        let socket = try lab.startAgent()
        setenv("SSH_AUTH_SOCK", socket, 1)
        defer { unsetenv("SSH_AUTH_SOCK") }
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            // The configured key is not authorized; the agent's key is, and is tried after it.
            let hop = lab.hop(server, keys: [lab.key("id_stranger")], knownHosts: known, transport: transport, useAgent: true)
            let host = try await connect(client, hop)
            let result = try await host.run(RemoteCommand("echo agent"))
            XCTAssertEqual(result.stdoutText, "agent\n", "\(transport)")
            await host.close()

            var noAgent = hop
            noAgent.useAgent = false
            let refused = await expectError { () async throws(SSHError) in try await client.connect(SSHTarget(host: noAgent)) }
            XCTAssertEqual(refused?.kind, .authFailed, "\(transport)")
            XCTAssertEqual(refused?.hop, server.name)
            await client.shutdown()
        }
        XCTAssertTrue(server.logText.contains("Accepted publickey for root"))
    }

    // MARK: - Host keys

    func testKnownHostsStrictAcceptNewHashedAndChanged() async throws {
        let lab = try lab()
        let server = try lab.sshd("hostkeys")
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let empty = "\(lab.root)/kh-empty-\(transport)"
            _ = FileManager.default.createFile(atPath: empty, contents: nil)

            let unknown = await expectError { () async throws(SSHError) in
                try await client.connect(SSHTarget(host: lab.hop(server, knownHosts: empty, policy: .strict, transport: transport)))
            }
            XCTAssertEqual(unknown?.kind, .hostKeyUnknown, "\(transport): \(unknown?.description ?? "")")
            XCTAssertEqual(unknown?.step, .hostKey)
            XCTAssertEqual(try String(contentsOfFile: empty, encoding: .utf8), "", "strict must not write")

            let first = try await connect(client, lab.hop(server, knownHosts: empty, policy: .acceptNew, transport: transport))
            await first.close()
            let written = try String(contentsOfFile: empty, encoding: .utf8)
            XCTAssertEqual(written.split(separator: "\n").count, 1, "\(transport): \(written)")
            if transport == .libssh2 {
                XCTAssertTrue(written.hasPrefix("[127.0.0.1]:\(server.port) ssh-ed25519 "), written)
            }  // OpenSSH follows ssh_config's HashKnownHosts (Debian: yes)
            let again = try await connect(client, lab.hop(server, knownHosts: empty, policy: .strict, transport: transport))
            await again.close()
            XCTAssertEqual(try String(contentsOfFile: empty, encoding: .utf8), written, "a known host is never appended twice")

            let hashed = try lab.knownHosts("kh-hashed-\(transport)", servers: [server], hashed: true)
            XCTAssertTrue(try String(contentsOfFile: hashed, encoding: .utf8).hasPrefix("|1|"))
            let viaHashed = try await connect(client, lab.hop(server, knownHosts: hashed, transport: transport))
            await viaHashed.close()
            await client.shutdown()
        }

        // A reinstalled host: both fingerprints, OpenSSH style.
        let old = try lab.knownHosts("kh-old", servers: [server])
        let oldFingerprint = try Lab.fingerprint(ofPublicKeyFile: server.hostKey + ".pub")
        try lab.regenerateHostKey(server)
        let newFingerprint = try Lab.fingerprint(ofPublicKeyFile: server.hostKey + ".pub")
        XCTAssertNotEqual(oldFingerprint, newFingerprint)
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            for policy in [HostKeyPolicy.strict, .acceptNew] {
                let changed = await expectError { () async throws(SSHError) in
                    try await client.connect(SSHTarget(host: lab.hop(server, knownHosts: old, policy: policy, transport: transport)))
                }
                XCTAssertEqual(changed?.kind, .hostKeyChanged, "\(transport) \(policy): \(changed?.description ?? "")")
                if transport == .libssh2 {
                    XCTAssertTrue(changed?.message.contains(oldFingerprint) == true, changed?.description ?? "")
                    XCTAssertTrue(changed?.message.contains(newFingerprint) == true, changed?.description ?? "")
                } else {
                    XCTAssertTrue(changed?.message.contains(newFingerprint) == true, changed?.description ?? "")
                }
            }
            await client.shutdown()
        }
        XCTAssertEqual(try String(contentsOfFile: old, encoding: .utf8).split(separator: "\n").count, 1, "accept-new never replaces")
    }

    func testAcceptNewFromManyConcurrentConnectionsKeepsTheFileWhole() async throws {
        let lab = try lab()
        let servers = try (0..<6).map { try lab.sshd("fleet\($0)") }
        let file = "\(lab.root)/kh-concurrent"
        try "# existing comment without newline".write(toFile: file, atomically: true, encoding: .utf8)
        let client = client()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for server in servers {
                for _ in 0..<3 {
                    group.addTask {
                        let host = try await client.connect(SSHTarget(host: lab.hop(server, knownHosts: file, policy: .acceptNew)))
                        await host.close()
                    }
                }
            }
            try await group.waitForAll()
        }
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "# existing comment without newline")
        for server in servers {
            XCTAssertEqual(lines.filter { $0.hasPrefix("[127.0.0.1]:\(server.port) ") }.count, 1, lines.joined(separator: "\n"))
        }
        XCTAssertEqual(lines.count, 1 + servers.count)
        await client.shutdown()
    }

    func testInsecureIgnoreWarnsLoudly() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let client = client()
        let host = try await connect(client, lab.hop(server, knownHosts: "/nonexistent/known_hosts", policy: .insecureIgnore))
        await host.close()
        XCTAssertEqual(client.warnings.count, 1)
        XCTAssertTrue(client.warnings[0].contains("host key checking is OFF for main"))
        await client.shutdown()
    }

    /// One address reached through two gateways is two hosts (stores reuse LAN ranges): each
    /// route has its own known_hosts entry, and a key valid for one route is refused on the other.
    func testHostKeyAliasesKeepOneAddressApartPerRouteOnBothTransports() async throws {
        let lab = try lab()
        let (a, b, c, d) = try gatewaysAndTargets(lab)
        let plain = SSHHop.openSSHName(address: c.address, port: c.port)
        let viaA = "gwa/\(plain)", viaB = "gwb/\(plain)"
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let known = try lab.knownHosts("kh-alias-\(transport)", servers: [a, b])
            let before = try String(contentsOfFile: known, encoding: .utf8)
            let client = client()
            for (gateway, alias) in [(a, viaA), (b, viaB)] {
                let host = try await client.connect(SSHTarget(
                    host: lab.hop(c, knownHosts: known, policy: .acceptNew, transport: transport, alias: alias),
                    gateways: [lab.hop(gateway, knownHosts: known, transport: transport)]))
                await host.close()
            }
            let written = try String(contentsOfFile: known, encoding: .utf8)
            XCTAssertEqual(written.split(separator: "\n").count, before.split(separator: "\n").count + 2, "\(transport): one entry per route\n\(written)")
            for alias in [viaA, viaB] {
                let entries = Lab.knownHostsEntries(alias, in: known)
                XCTAssertEqual(entries.count, 1, "\(transport): \(alias) in\n\(written)")
                XCTAssertTrue(entries.first?.contains(String(c.hostPublicKey.split(separator: " ")[1])) == true, "\(transport): \(entries)")
            }
            XCTAssertEqual(Lab.knownHostsEntries(plain, in: known), [], "\(transport): the bare address was written")
            if transport == .libssh2 {
                XCTAssertTrue(written.contains("\n\(viaA) ssh-ed25519 "), written)
            }
            await client.shutdown()

            // The route through A now holds D's key, the bare address C's: C through A is refused.
            // (B's entry is in upper case: names compare case-insensitively, as in OpenSSH.)
            let swapped = "\(lab.root)/kh-alias-swapped-\(transport)"
            try (before + "\(viaA) \(d.hostPublicKey)\n\(viaB.uppercased()) \(c.hostPublicKey)\n\(plain) \(c.hostPublicKey)\n")
                .write(toFile: swapped, atomically: true, encoding: .utf8)
            let swappedBefore = try String(contentsOfFile: swapped, encoding: .utf8)
            let again = self.client()
            for policy in [HostKeyPolicy.strict, .acceptNew] {
                let refused = await expectError { () async throws(SSHError) in
                    try await again.connect(SSHTarget(
                        host: lab.hop(c, knownHosts: swapped, policy: policy, transport: transport, label: "store-a/c", alias: viaA),
                        gateways: [lab.hop(a, knownHosts: swapped, transport: transport)]))
                }
                XCTAssertEqual(refused?.kind, .hostKeyChanged, "\(transport) \(policy): \(refused?.description ?? "")")
                XCTAssertEqual(refused?.hop, "store-a/c")
                if transport == .libssh2 {
                    XCTAssertTrue(refused?.message.contains(viaA) == true, refused?.description ?? "")
                }
            }
            let other = try await again.connect(SSHTarget(
                host: lab.hop(c, knownHosts: swapped, transport: transport, alias: viaB),
                gateways: [lab.hop(b, knownHosts: swapped, transport: transport)]))
            let r = try await other.run(RemoteCommand("echo other-route"))
            XCTAssertEqual(r.stdoutText, "other-route\n", "\(transport)")
            await other.close()
            XCTAssertEqual(try String(contentsOfFile: swapped, encoding: .utf8), swappedBefore, "\(transport): accept-new never replaces")

            // An entry under the bare address alone (written before routes named hosts) vouches for nothing.
            let bare = "\(lab.root)/kh-alias-bare-\(transport)"
            try (before + "\(plain) \(c.hostPublicKey)\n").write(toFile: bare, atomically: true, encoding: .utf8)
            let unknown = await expectError { () async throws(SSHError) in
                try await again.connect(SSHTarget(
                    host: lab.hop(c, knownHosts: bare, transport: transport, alias: viaA),
                    gateways: [lab.hop(a, knownHosts: bare, transport: transport)]))
            }
            XCTAssertEqual(unknown?.kind, .hostKeyUnknown, "\(transport): \(unknown?.description ?? "")")
            XCTAssertTrue(unknown?.hint?.contains(viaA) == true, "\(transport): the hint names the route: \(unknown?.description ?? "")")
            if transport == .libssh2 {
                XCTAssertTrue(unknown?.hint?.contains("bare address \(plain)") == true, unknown?.description ?? "")
            }
            await again.shutdown()
        }
    }

    /// `@revoked` lines (by exact name or pattern) refuse the key even when another line lists it.
    func testRevokedKeysAreRefusedOnBothTransports() async throws {
        let lab = try lab()
        let server = try lab.sshd("revoked")
        let name = SSHHop.openSSHName(address: server.address, port: server.port)
        let key = server.hostPublicKey
        let cases: [(file: String, text: String, refused: Bool)] = [
            ("kh-revoked-star", "\(name) \(key)\n@revoked * \(key)\n", true),
            ("kh-revoked-exact", "@revoked \(name) \(key)\n\(name) \(key)\n", true),
            ("kh-revoked-glob", "\(name) \(key)\n@revoked 127.0.0.?,[127.0.0.1]:* \(key)\n", true),
            ("kh-revoked-negated", "\(name) \(key)\n@revoked *,!\(name) \(key)\n", false),
            ("kh-revoked-other", "\(name) \(key)\n@revoked 10.9.9.* \(key)\n", false),
        ]
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            for entry in cases {
                let path = "\(lab.root)/\(entry.file)-\(transport)"
                try entry.text.write(toFile: path, atomically: true, encoding: .utf8)
                for policy in [HostKeyPolicy.strict, .acceptNew] {
                    let hop = lab.hop(server, knownHosts: path, policy: policy, transport: transport)
                    if entry.refused {
                        let error = await expectError { () async throws(SSHError) in try await client.connect(SSHTarget(host: hop)) }
                        XCTAssertEqual(error?.kind, .hostKeyRevoked, "\(transport) \(entry.file) \(policy): \(error?.description ?? "")")
                        XCTAssertEqual(error?.step, .hostKey)
                        XCTAssertTrue(error?.description.contains("revoked") == true || error?.description.contains("REVOKED") == true)
                    } else {
                        let host = try await client.connect(SSHTarget(host: hop))
                        await host.close()
                    }
                }
                XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), entry.text, "\(transport) \(entry.file): the file is never changed")
            }
            // Nothing but the revoked line: accept-new must not add the key.
            let only = "\(lab.root)/kh-revoked-only-\(transport)"
            try "@revoked \(name) \(key)\n".write(toFile: only, atomically: true, encoding: .utf8)
            let error = await expectError { () async throws(SSHError) in
                try await client.connect(SSHTarget(host: lab.hop(server, knownHosts: only, policy: .acceptNew, transport: transport)))
            }
            XCTAssertEqual(error?.kind, .hostKeyRevoked, "\(transport): \(error?.description ?? "")")
            XCTAssertEqual(try String(contentsOfFile: only, encoding: .utf8), "@revoked \(name) \(key)\n", "\(transport)")
            await client.shutdown()
        }
    }

    /// The system ssh gets HOME, PATH and the agent socket, not the operator's secrets.
    func testOpenSSHRunsWithOnlyTheEnvironmentItNeeds() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-env", servers: [server])
        let dumps = "\(lab.root)/ssh-env"
        try FileManager.default.createDirectory(atPath: dumps, withIntermediateDirectories: true)
        let wrapper = "\(lab.root)/ssh-wrapper"
        try "#!/bin/sh\nenv > \(dumps)/$$\nexec /usr/bin/ssh \"$@\"\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let secret = "s3cret-\(UUID().uuidString)"
        setenv("EDGESSH_TEST_SUDO_PASSWORD", secret, 1)
        setenv("SSH_AUTH_SOCK", "\(lab.root)/no-agent.sock", 1)
        defer {
            unsetenv("EDGESSH_TEST_SUDO_PASSWORD")
            unsetenv("SSH_AUTH_SOCK")
        }
        func environments(useAgent: Bool) async throws -> [String] {
            try? FileManager.default.removeItem(atPath: dumps)
            try FileManager.default.createDirectory(atPath: dumps, withIntermediateDirectories: true)
            let client = SSHClient(options: SSHClientOptions(connectTimeout: .seconds(10), passphraseProvider: { _ in nil }, sshExecutable: wrapper))
            let host = try await client.connect(SSHTarget(host: lab.hop(server, knownHosts: known, transport: .openssh, useAgent: useAgent)))
            let r = try await host.run(RemoteCommand("echo ran"))
            XCTAssertEqual(r.stdoutText, "ran\n")
            await host.close()
            await client.shutdown()
            return try FileManager.default.contentsOfDirectory(atPath: dumps).map { try String(contentsOfFile: "\(dumps)/\($0)", encoding: .utf8) }
        }
        for useAgent in [false, true] {
            let seen = try await environments(useAgent: useAgent)
            XCTAssertGreaterThanOrEqual(seen.count, 2, "the master and the command each ran ssh")
            for environment in seen {
                let names = Set(environment.split(separator: "\n").compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
                XCTAssertFalse(environment.contains(secret), "a secret reached ssh's environment")
                XCTAssertTrue(names.isSubset(of: ["HOME", "USER", "LOGNAME", "PATH", "XDG_RUNTIME_DIR", "SSH_SK_PROVIDER", "SSH_AUTH_SOCK", "PWD", "SHLVL", "_"]), "\(names.sorted())")
                XCTAssertTrue(names.contains("HOME") && names.contains("PATH"), "\(names.sorted())")
                XCTAssertEqual(names.contains("SSH_AUTH_SOCK"), useAgent, "the agent socket only for hops that use the agent")
            }
        }
    }

    // MARK: - Gateways

    func testTwoGatewayChainSharesOneConnectionPerGateway() async throws {
        let lab = try lab()
        let (a, b, c, d) = try gatewaysAndTargets(lab)
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let known = try lab.knownHosts("kh-chain-\(transport)", servers: [a, b, c, d])
            let beforeA = a.logText.components(separatedBy: "Accepted publickey").count
            let beforeB = b.logText.components(separatedBy: "Accepted publickey").count
            let client = client()
            let gateways = [lab.hop(a, knownHosts: known, transport: transport), lab.hop(b, keys: [lab.key("id_ecdsa")], knownHosts: known, transport: transport)]
            let targets = [c, d, c, d].enumerated().map { index, server in
                lab.hop(server, knownHosts: known, transport: transport, label: "store-\(index)/\(server.name)")
            }
            let results = try await withThrowingTaskGroup(of: String.self) { group in
                for target in targets {
                    group.addTask {
                        let host = try await client.connect(SSHTarget(host: target, gateways: gateways))
                        let r = try await host.run(RemoteCommand("echo $SSH_CONNECTION"))
                        await host.close()
                        return r.stdoutText
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            XCTAssertEqual(results.count, 4)
            for line in results {
                let fields = line.split(separator: " ")
                XCTAssertEqual(fields.count, 4, line)
                XCTAssertEqual(fields[2], "127.0.0.3", line)  // the target, only reachable as a hop behind B
            }
            // B forwarded to the targets; A forwarded to B; each gateway was logged in to once.
            XCTAssertTrue(b.logText.contains("127.0.0.3 port \(c.port)") || b.logText.contains("127.0.0.3:\(c.port)"), "\(transport): B never forwarded to C")
            XCTAssertTrue(a.logText.contains("127.0.0.2 port \(b.port)") || a.logText.contains("127.0.0.2:\(b.port)"), "\(transport): A never forwarded to B")
            XCTAssertEqual(a.logText.components(separatedBy: "Accepted publickey").count - beforeA, 1, "\(transport): gateway A logins")
            XCTAssertEqual(b.logText.components(separatedBy: "Accepted publickey").count - beforeB, 1, "\(transport): gateway B logins")
            await client.shutdown()
        }
    }

    func testGatewayReportsAnUnreachableTargetPerHost() async throws {
        let lab = try lab()
        let a = try lab.sshd("gwA", logLevel: "DEBUG1")
        let c = try lab.sshd("targetC", address: "127.0.0.3")
        let known = try lab.knownHosts("kh-gw-dead", servers: [a, c])
        let client = client()
        let gateway = lab.hop(a, knownHosts: known)
        var dead = lab.hop(c, knownHosts: known, label: "store-9/dead")
        dead.port = Lab.freePort("127.0.0.3")
        let error = await expectError { () async throws(SSHError) in try await client.connect(SSHTarget(host: dead, gateways: [gateway])) }
        XCTAssertEqual(error?.kind, .connectFailed)
        XCTAssertEqual(error?.hop, "store-9/dead")
        XCTAssertTrue(error?.message.contains("gateway gwA") == true, error?.description ?? "")
        let alive = try await client.connect(SSHTarget(host: lab.hop(c, knownHosts: known), gateways: [gateway]))
        let r = try await alive.run(RemoteCommand("echo fine"))
        XCTAssertEqual(r.stdoutText, "fine\n")
        await alive.close()
        await client.shutdown()
    }

    func testHandshakesThroughAGatewayArePacedBelowMaxStartups() async throws {
        let lab = try lab()
        let a = try lab.sshd("gwA", logLevel: "DEBUG1")
        // Drops every unauthenticated connection beyond 5 (sshd frees a slot a moment after auth), like a small device's sshd under load.
        let narrow = try lab.sshd("narrow", address: "127.0.0.3", maxStartups: "5:100:5")
        let known = try lab.knownHosts("kh-paced", servers: [a, narrow])
        let client = SSHClient(options: SSHClientOptions(connectTimeout: .seconds(30), maxHandshakesPerGateway: 2, passphraseProvider: { _ in nil }))
        let gateway = lab.hop(a, knownHosts: known)
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<16 {
                group.addTask {
                    let host = try await client.connect(SSHTarget(host: lab.hop(narrow, knownHosts: known, label: "paced-\(i)"), gateways: [gateway]))
                    let r = try await host.run(RemoteCommand("echo \(i)"))
                    try await Task.sleep(for: .milliseconds(200))  // stay connected while others log in
                    await host.close()
                    return r.stdoutText
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        XCTAssertEqual(outputs, Set((0..<16).map { "\($0)\n" }))
        XCTAssertFalse(narrow.logText.contains("past MaxStartups"), narrow.logText)
        await client.shutdown()
    }

    // MARK: - sudo

    func testSudoModes() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-sudo", servers: [server])
        let right = SudoMode.password(Secret(Lab.sudoPassword))
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let nopasswd = try await connect(client, lab.hop(server, user: Lab.nopasswdUser, knownHosts: known, transport: transport))
            let plain = try await nopasswd.run(RemoteCommand("id -un"))
            XCTAssertEqual(plain.stdoutText, "\(Lab.nopasswdUser)\n")
            let elevated = try await nopasswd.run(RemoteCommand("id -u; cat", stdin: Data("piped\n".utf8), sudo: .passwordless))
            XCTAssertEqual(elevated.stdoutText, "0\npiped\n", "\(transport)")
            XCTAssertEqual(elevated.stderrText, "", "the sudo marker must not leak: \(transport)")
            // A password sudo never asks for (NOPASSWD) is never sent: it would be the command's input.
            for stdin in [nil, Data("piped\n".utf8)] {
                let unasked = try await nopasswd.run(RemoteCommand("id -u; cat", stdin: stdin, sudo: .password(Secret("never-asked-for"))))
                XCTAssertEqual(unasked.stdoutText, "0\n" + (stdin.map { String(decoding: $0, as: UTF8.self) } ?? ""), "\(transport)")
                XCTAssertEqual(unasked.stderrText, "", "\(transport)")
            }
            await nopasswd.close()

            let passworded = try await connect(client, lab.hop(server, user: Lab.passwordUser, knownHosts: known, transport: transport))
            let withPassword = try await passworded.run(RemoteCommand("id -u; cat; exit 4", stdin: Data("line1\nline2\n".utf8), sudo: right))
            XCTAssertEqual(withPassword.stdoutText, "0\nline1\nline2\n", "\(transport)")
            XCTAssertEqual(withPassword.exitStatus, 4)
            XCTAssertFalse(withPassword.stderrText.contains(Lab.sudoPassword))

            for stdin in [nil, Data("must not be read as a password\n".utf8)] {
                let rejected = await expectError { () async throws(SSHError) in
                    try await passworded.run(RemoteCommand("id -u", stdin: stdin, sudo: .password(Secret("wrong"))))
                }
                XCTAssertEqual(rejected?.kind, .sudo, "\(transport)")
                XCTAssertTrue(rejected?.message.contains("sudo password rejected") == true, rejected?.description ?? "")
            }
            let needsPassword = await expectError { () async throws(SSHError) in
                try await passworded.run(RemoteCommand("id -u", sudo: .passwordless))
            }
            XCTAssertEqual(needsPassword?.kind, .sudo)
            XCTAssertTrue(needsPassword?.message.contains("wants a password") == true, needsPassword?.description ?? "")
            await passworded.close()
            await client.shutdown()
        }
        // The password never reached any process's argv (sshd logs commands at DEBUG1).
        XCTAssertFalse(server.logText.contains(Lab.sudoPassword))
    }

    // MARK: - Transfers

    func testLargeUploadChecksumSkipAndSudoInstall() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-upload", servers: [server])
        let local = "\(lab.root)/payload.bin"
        if !FileManager.default.fileExists(atPath: local) {
            try Lab.sh("sh", "-c", "head -c 100000000 /dev/urandom > \(local)")
        }
        let localDigest = try SHA256Digest.hexOfFile(local)
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client()
            let host = try await connect(client, lab.hop(server, knownHosts: known, transport: transport))
            let remote = "/root/edgessh-upload-\(transport).bin"
            _ = try await host.run(RemoteCommand(ShellQuote.command(["rm", "-f", remote])))
            let first = try await host.upload(file: local, to: remote, mode: 0o640, sudo: .none)
            XCTAssertEqual(first, .uploaded(bytes: 100_000_000), "\(transport)")
            let check = try await host.run(RemoteCommand(ShellQuote.command(["sh", "-c", "sha256sum < \"$1\"; stat -c %a \"$1\"", "x", remote])))
            XCTAssertEqual(String(check.stdoutText.prefix(64)), localDigest)
            XCTAssertTrue(check.stdoutText.hasSuffix("640\n"), check.stdoutText)
            let second = try await host.upload(file: local, to: remote, mode: 0o640, sudo: .none)
            XCTAssertEqual(second, .unchanged)
            let third = try await host.upload(file: local, to: remote, mode: 0o600, sudo: .none)
            XCTAssertEqual(third, .unchanged)
            let mode = try await host.run(RemoteCommand(ShellQuote.command(["stat", "-c", "%a", remote])))
            XCTAssertEqual(mode.stdoutText, "600\n")
            _ = try await host.run(RemoteCommand(ShellQuote.command(["rm", "-f", remote])))
            // The login user's staging folder stays, empty: the staged copy became the target.
            let leftovers = try await host.run(RemoteCommand(
                "{ ls -a /var/tmp /root | grep edgeup | grep -v -x '.edgeup-uploads-[0-9]*'; ls -A /var/tmp/.edgeup-uploads-$(id -u); } | grep -c . || true"))
            XCTAssertEqual(leftovers.stdoutText, "0\n", "temp files left behind")
            await host.close()

            // Small in-memory config into a root-only path through sudo, and back.
            let user = try await connect(client, lab.hop(server, user: Lab.nopasswdUser, knownHosts: known, transport: transport))
            let secretConfig = Data("token: K10abc::server:s3cret\n".utf8)
            let target = "/etc/edgessh-test-\(transport).yaml"
            let put = try await user.upload(data: secretConfig, to: target, mode: 0o600, sudo: .passwordless)
            XCTAssertEqual(put, .uploaded(bytes: secretConfig.count))
            let again = try await user.upload(data: secretConfig, to: target, mode: 0o600, sudo: .passwordless)
            XCTAssertEqual(again, .unchanged)
            let owner = try await user.run(RemoteCommand(ShellQuote.command(["stat", "-c", "%U %a", target])))
            XCTAssertEqual(owner.stdoutText, "root 600\n")
            let denied = await expectError { () async throws(SSHError) in try await user.download(target, sudo: .none, maxBytes: 4096) }
            XCTAssertEqual(denied?.kind, .transfer)
            XCTAssertEqual(denied?.step, .download)
            let back = try await user.download(target, sudo: .passwordless, maxBytes: 4096)
            XCTAssertEqual(back, secretConfig)
            let tooBig = await expectError { () async throws(SSHError) in try await user.download(target, sudo: .passwordless, maxBytes: 5) }
            XCTAssertEqual(tooBig?.kind, .transfer)
            _ = try await user.run(RemoteCommand(ShellQuote.command(["rm", "-f", target]), sudo: .passwordless))
            await user.close()
            await client.shutdown()
        }
        XCTAssertFalse(server.logText.contains("s3cret"), "file content must never be in a command line")
    }

    // MARK: - Failures in a batch

    func testDeadHungAndDyingHostsFailAloneInABatch() async throws {
        let lab = try lab()
        let good = try lab.sshd("main")
        let dying = try lab.sshd("dying")
        let silent = Lab.silentListener()
        defer { close(silent.fd) }
        let known = try lab.knownHosts("kh-batch", servers: [good, dying])
        for transport in [SSHTransportKind.libssh2, .openssh] {
            let client = client(connectTimeout: .seconds(2))
            var refused = lab.hop(good, knownHosts: known, transport: transport, label: "refused")
            refused.port = Lab.freePort("127.0.0.1")
            var hung = lab.hop(good, knownHosts: known, transport: transport, label: "hung")
            hung.port = silent.port
            let goodHop = lab.hop(good, knownHosts: known, transport: transport, label: "good")
            let dyingHop = lab.hop(dying, knownHosts: known, transport: transport, label: "dying")

            let outcomes = await withTaskGroup(of: (String, Result<String, SSHError>).self) { group in
                for hop in [goodHop, refused, hung, dyingHop] {
                    group.addTask {
                        do throws(SSHError) {
                            let host = try await client.connect(SSHTarget(host: hop))
                            defer { Task { await host.close() } }
                            if hop.label == "dying" {
                                // Report the session's sshd process, then kill it mid-command.
                                let findSSHD = #"p=$$; while [ "$(ps -o comm= -p "$p")" != sshd ]; do p=$(ps -o ppid= -p "$p" | tr -d ' '); done; echo "$p"; sleep 30"#
                                let result = try await host.run(RemoteCommand(findSSHD, onOutput: { chunk in
                                    if case .stdout(let data) = chunk, let pid = Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
                                        kill(pid, SIGKILL)
                                    }
                                }))
                                return (hop.label, .success(result.stdoutText))
                            }
                            let result = try await host.run(RemoteCommand("sleep 1; echo alive"))
                            return (hop.label, .success(result.stdoutText))
                        } catch {
                            return (hop.label, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [String: Result<String, SSHError>]()) { $0[$1.0] = $1.1 }
            }
            XCTAssertEqual(try outcomes["good"]?.get(), "alive\n", "\(transport)")
            func failure(_ label: String) -> SSHError? {
                if case .failure(let e) = outcomes[label] { return e }
                XCTFail("\(label) should have failed on \(transport)")
                return nil
            }
            XCTAssertEqual(failure("refused")?.kind, .connectRefused, "\(transport)")
            XCTAssertEqual(failure("refused")?.hop, "refused")
            XCTAssertEqual(failure("hung")?.kind, .timeout, "\(transport): \(failure("hung")?.description ?? "")")
            XCTAssertEqual(failure("dying")?.kind, .disconnected, "\(transport): \(failure("dying")?.description ?? "")")
            XCTAssertEqual(failure("dying")?.step, .exec)
            await client.shutdown()
        }
    }

    // MARK: - Reactor seam

    func testPortablePollBackendDrivesASession() async throws {
        let lab = try lab()
        let server = try lab.sshd("main")
        let known = try lab.knownHosts("kh-poll", servers: [server])
        let client = SSHClient(options: SSHClientOptions(passphraseProvider: { _ in nil }), poller: PollPoller())
        let host = try await client.connect(SSHTarget(host: lab.hop(server, knownHosts: known)))
        let result = try await host.run(RemoteCommand("head -c 3000000 /dev/zero | wc -c"))
        XCTAssertEqual(result.stdoutText.trimmingCharacters(in: .whitespaces), "3000000\n")
        await host.close()
        await client.shutdown()
    }
}

final class ShellQuoteTests: XCTestCase {
    func testQuoting() {
        XCTAssertEqual(ShellQuote.quote("plain-word_1.2/x"), "plain-word_1.2/x")
        XCTAssertEqual(ShellQuote.quote(""), "''")
        XCTAssertEqual(ShellQuote.quote("a b"), "'a b'")
        XCTAssertEqual(ShellQuote.quote("it's"), "'it'\\''s'")
        XCTAssertEqual(ShellQuote.command(["echo", "$HOME", "x;y"]), "echo '$HOME' 'x;y'")
    }

    func testSecretNeverPrints() {
        let secret = Secret("hunter2")
        XCTAssertEqual("\(secret)", "<redacted>")
        XCTAssertEqual(String(reflecting: secret), "<redacted>")
        XCTAssertFalse("\(SudoMode.password(secret))".contains("hunter2"))
    }

    func testErrorTextNamesHopStepAndHint() {
        let error = SSHError(.connectRefused, hop: "store-042/pi-042", step: .connect, "connection refused by 10.0.0.5:22", hint: "is sshd running?")
        XCTAssertEqual(error.description, "store-042/pi-042: connect: connection refused by 10.0.0.5:22 — hint: is sshd running?")
    }
}
