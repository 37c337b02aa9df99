import Foundation
import XCTest

@testable import EdgeSSH

/// What a killed run must not leave on a host: half-written files, or temp files anywhere but
/// beside their target.
extension EdgeSSHTests {
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
            // A staged copy a killed large write left in /var/tmp long ago, one of another user, and
            // one that may still be in use.
            let stale = "\(SSHRemoteHost.stagingPrefix)stale\(transport)"
            let foreign = "\(SSHRemoteHost.stagingPrefix)foreign\(transport)"
            let fresh = "\(SSHRemoteHost.stagingPrefix)fresh\(transport)"
            for file in [stale, foreign, fresh] { try "x".write(toFile: file, atomically: false, encoding: .utf8) }
            defer { for file in [stale, foreign, fresh] { try? FileManager.default.removeItem(atPath: file) } }
            _ = try Lab.sh("chown", Lab.nopasswdUser, stale, fresh)
            _ = try Lab.sh("touch", "-d", "-20 minutes", stale, foreign)

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
            XCTAssertEqual(Self.staging(), [foreign, fresh].sorted(), "\(transport): only this user's stale staged copy is swept")

            // A write cut off half-way: neither a staged copy, a temp file nor a target is left.
            let task = Task { () async -> SSHError? in
                do throws(SSHError) {
                    _ = try await user.upload(file: big, to: "\(folder)/big.bin", mode: 0o755, sudo: .passwordless)
                    return nil
                } catch {
                    return error
                }
            }
            let appeared = await poll(within: .seconds(20)) { Self.staging().count > 2 }
            XCTAssertTrue(appeared, "\(transport): the large write is staged in /var/tmp")
            task.cancel()
            let cut = await task.value
            XCTAssertEqual(cut?.kind, .cancelled, "\(transport): \(cut?.description ?? "finished")")
            let cleaned = await poll(within: .seconds(10)) { Self.staging() == [foreign, fresh].sorted() }
            XCTAssertTrue(cleaned, "\(transport): left \(Self.staging())")
            listing = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            XCTAssertEqual(listing, [".edgeup-write.other.conf.k1lled", "app.conf", "medium.bin"], "\(transport)")
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

    /// edgeup's staged copies in /var/tmp (the tests' sshd runs on this machine).
    static func staging() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/var/tmp")) ?? []
        return names.map { "/var/tmp/" + $0 }.filter { $0.hasPrefix(SSHRemoteHost.stagingPrefix) }.sorted()
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
