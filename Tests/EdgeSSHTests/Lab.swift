import Foundation
import XCTest

@testable import EdgeSSH

/// Real OpenSSH sshd instances on loopback addresses, started by the tests themselves (as root).
final class Lab: @unchecked Sendable {  // built once, then read-only
    let root: String
    let authorizedKeys: String
    private(set) var servers: [String: SSHD] = [:]
    private var agentPID: Int32?

    static let sudoPassword = "Sud0-pass word'"
    static let keyPassphrase = "correct horse battery"
    static let nopasswdUser = "edgesshnp"
    static let passwordUser = "edgesshpw"

    final class SSHD: @unchecked Sendable {
        let name: String
        let address: String
        let port: Int
        let config: String
        let log: String
        let hostKey: String
        var pid: pid_t?

        init(name: String, address: String, port: Int, root: String) {
            self.name = name
            self.address = address
            self.port = port
            config = "\(root)/\(name).sshd_config"
            log = "\(root)/\(name).log"
            hostKey = "\(root)/\(name)_host_ed25519"
        }

        var hostPublicKey: String { (try? String(contentsOfFile: hostKey + ".pub", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    init() throws {
        guard getuid() == 0 else { throw XCTSkip("EdgeSSH integration tests start sshd and create users: run them as root (CI does)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else { throw XCTSkip("openssh-server is not installed") }
        root = "/tmp/edgessh-tests-\(getpid())"
        authorizedKeys = "\(root)/authorized_keys"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        try makeUserKeys()
        try makeUsers()
    }

    // MARK: keys and users

    func key(_ name: String) -> String { "\(root)/\(name)" }

    private func makeUserKeys() throws {
        try Self.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key("id_ed25519"))
        try Self.sh("ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", key("id_ecdsa"))
        try Self.sh("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", key("id_rsa"))
        try Self.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", Self.keyPassphrase, "-f", key("id_encrypted"))
        try Self.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key("id_agent"))
        try Self.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key("id_stranger"))
        let keys = try ["id_ed25519", "id_ecdsa", "id_rsa", "id_encrypted", "id_agent"].map {
            try String(contentsOfFile: key($0) + ".pub", encoding: .utf8)
        }
        try keys.joined().write(toFile: authorizedKeys, atomically: true, encoding: .utf8)
    }

    private func makeUsers() throws {
        for user in [Self.nopasswdUser, Self.passwordUser] {
            if (try? Self.sh("id", user)) == nil { try Self.sh("useradd", "-m", "-s", "/bin/sh", user) }
        }
        // An unlocked password: sshd refuses locked accounts. chpasswd reads stdin, not argv.
        try Self.sh("chpasswd", input: "\(Self.passwordUser):\(Self.sudoPassword)\n\(Self.nopasswdUser):\(UUID().uuidString)\n")
        let sudoers = """
            \(Self.nopasswdUser) ALL=(ALL) NOPASSWD: ALL
            \(Self.passwordUser) ALL=(ALL) ALL
            Defaults:\(Self.passwordUser) lecture=never

            """
        try sudoers.write(toFile: "/etc/sudoers.d/edgessh-tests", atomically: true, encoding: .utf8)
        chmod("/etc/sudoers.d/edgessh-tests", 0o440)
    }

    // MARK: sshd

    /// Starts (once) an sshd named `name` on `address`.
    @discardableResult
    /// DEBUG1 logs forwarding, but also reaches the clients' stderr: only for gateways.
    func sshd(_ name: String, address: String = "127.0.0.1", logLevel: String = "VERBOSE", maxStartups: String = "500") throws -> SSHD {
        if let running = servers[name] { return running }
        let server = SSHD(name: name, address: address, port: Self.freePort(address), root: root)
        try Self.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", server.hostKey)
        let config = """
            Port \(server.port)
            ListenAddress \(address)
            HostKey \(server.hostKey)
            PidFile none
            UsePAM no
            StrictModes no
            PermitRootLogin yes
            AuthorizedKeysFile \(authorizedKeys)
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            AllowTcpForwarding yes
            MaxStartups \(maxStartups)
            MaxSessions 200
            Subsystem sftp /usr/lib/openssh/sftp-server
            LogLevel \(logLevel)

            """
        try config.write(toFile: server.config, atomically: true, encoding: .utf8)
        try start(server)
        servers[name] = server
        return server
    }

    func start(_ server: SSHD) throws {
        // posix_spawn directly: Foundation's Process reaper stalls under Swift concurrency here.
        let child = try Self.spawn("/usr/sbin/sshd", ["-D", "-e", "-f", server.config], stdout: .null, stderr: .file(server.log))
        server.pid = child.pid
        for _ in 0..<200 {
            if Self.accepts(server.address, server.port) { return }
            usleep(10_000)
        }
        throw NSError(domain: "Lab", code: 1, userInfo: [NSLocalizedDescriptionKey: "sshd \(server.name) did not start: \(server.logText)"])
    }

    private static func stop(_ server: SSHD) {
        guard let pid = server.pid else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        server.pid = nil
    }

    /// Replaces the server's host key (same type) and restarts it: a "reinstalled host".
    func regenerateHostKey(_ server: SSHD) throws {
        Self.stop(server)
        try? FileManager.default.removeItem(atPath: server.hostKey)
        try? FileManager.default.removeItem(atPath: server.hostKey + ".pub")
        try Self.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", server.hostKey)
        try start(server)
    }

    func stop() {
        for server in servers.values { Self.stop(server) }
        if let agentPID {
            kill(agentPID, SIGTERM)
            var status: Int32 = 0
            waitpid(agentPID, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: "/etc/sudoers.d/edgessh-tests")
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: known_hosts and hops

    /// A fresh known_hosts file holding `servers`' keys (OpenSSH `[host]:port` names).
    func knownHosts(_ name: String, servers: [SSHD], hashed: Bool = false) throws -> String {
        let path = "\(root)/\(name)"
        let lines = servers.map { "[\($0.address)]:\($0.port) \($0.hostPublicKey)\n" }.joined()
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        if hashed {
            try Self.sh("ssh-keygen", "-q", "-H", "-f", path)
            try? FileManager.default.removeItem(atPath: path + ".old")
        }
        return path
    }

    func hop(
        _ server: SSHD, user: String = "root", keys: [String]? = nil, knownHosts: String,
        policy: HostKeyPolicy = .strict, transport: SSHTransportKind = .libssh2, useAgent: Bool = false,
        passphraseEnv: String? = nil, label: String? = nil, alias: String? = nil
    ) -> SSHHop {
        SSHHop(label: label ?? server.name, address: server.address, port: server.port, user: user,
               identityFiles: keys ?? [key("id_ed25519")], passphraseEnv: passphraseEnv, useAgent: useAgent,
               knownHostsFile: knownHosts, hostKeyPolicy: policy, transport: transport, hostKeyAlias: alias)
    }

    /// The known_hosts entries for `name` (plain or hashed), as `ssh-keygen -F` finds them.
    static func knownHostsEntries(_ name: String, in file: String) -> [String] {
        let found = (try? sh("ssh-keygen", "-F", name, "-f", file)) ?? ""
        return found.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    /// Starts this lab's own ssh-agent (foreground, so the lab can stop it) holding id_agent.
    func startAgent() throws -> String {
        let socket = "\(root)/agent.sock"
        if agentPID == nil {
            agentPID = try Self.spawn("/usr/bin/ssh-agent", ["-D", "-a", socket], stdout: .null, stderr: .null).pid
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { usleep(10_000) }
            var environment = ProcessInfo.processInfo.environment
            environment["SSH_AUTH_SOCK"] = socket
            try Self.sh("ssh-add", "-q", key("id_agent"), environment: environment)
        }
        return socket
    }

    // MARK: helpers

    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        stdin: ChildProcess.Stdio = .null, stdout: ChildProcess.Stdio, stderr: ChildProcess.Stdio
    ) throws -> ChildProcess {
        do {
            return try ChildProcess.spawn(executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                                          stdin: stdin, stdout: stdout, stderr: stderr)
        } catch {
            throw NSError(domain: "Lab", code: Int(error.code), userInfo: [NSLocalizedDescriptionKey: "cannot run \(executable)"])
        }
    }

    /// Runs a command to completion (blocking); throws with its output when it fails.
    @discardableResult
    static func sh(_ arguments: String..., input: String? = nil, environment: [String: String]? = nil) throws -> String {
        let output = "/tmp/edgessh-sh-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: output + ".err")
        }
        let child = try spawn("/usr/bin/env", arguments, environment: environment, stdin: input == nil ? .null : .pipe,
                              stdout: .file(output), stderr: .file(output + ".err"))
        if let input {
            let bytes = Array(input.utf8)
            _ = write(child.stdinFD, bytes, bytes.count)
            child.closeStdin()
        }
        var status: Int32 = 0
        waitpid(child.pid, &status, 0)
        let text = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "") + ((try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? "")
        guard status == 0 else {
            throw NSError(domain: "Lab", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "\(arguments.joined(separator: " ")): \(text)"])
        }
        return text
    }

    static func fingerprint(ofPublicKeyFile path: String) throws -> String {
        // "256 SHA256:xxxx comment (ED25519)"
        String(try sh("ssh-keygen", "-l", "-E", "sha256", "-f", path).split(separator: " ")[1])
    }

    static func freePort(_ address: String) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, address, &addr.sin_addr)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func accepts(_ address: String, _ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, address, &addr.sin_addr)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// A listener that completes TCP handshakes (kernel backlog) but never speaks: a hung host.
    static func silentListener() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 16)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }
}
