// edgeup-ssh-bench: EdgeSSH against plain OpenSSH on the same loopback sshd fleet, in one run.
//
//   edgeup-ssh-bench run [--sessions 50,200,500,1000] [--servers 4] [--upload-mb 100]
//
// Needs root (it starts its own sshd instances on 127.0.0.1) and Linux (/proc sampling).
// The `sessions` and `upload` modes are the workers `run` starts and measures.
import EdgeSSH
import Foundation

struct Fail: Error, CustomStringConvertible { let description: String }

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

/// A user whose shell is /bin/sh with no rc files: root's shell here may run heavy startup
/// scripts (e.g. pyenv) per session, which would measure the shell instead of SSH.
let benchUser = "edgeupbench"

func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0) }

func shell(_ command: String) throws {
    guard system(command) == 0 else { throw Fail(description: "failed: \(command)") }
}

// MARK: - Workers

func hops(ports: [Int], key: String, knownHosts: String) -> [SSHHop] {
    ports.map { SSHHop(label: "bench:\($0)", address: "127.0.0.1", port: $0, user: benchUser, identityFiles: [key],
                       useAgent: false, knownHostsFile: knownHosts, hostKeyPolicy: .strict) }
}

/// connect + host key + auth + `true` + close, for `count` sessions at once.
func sessionsWorker() async throws {
    let count = Int(option("--count", "50"))!
    let servers = hops(ports: option("--ports", "").split(separator: ",").map { Int($0)! },
                       key: option("--key", ""), knownHosts: option("--known-hosts", ""))
    let client = SSHClient(options: SSHClientOptions(connectTimeout: .seconds(120), maxConcurrentConnections: count,
                                                     passphraseProvider: { _ in nil }))
    let failures = await withTaskGroup(of: String?.self) { group in
        for i in 0..<count {
            group.addTask {
                do throws(SSHError) {
                    let host = try await client.connect(SSHTarget(host: servers[i % servers.count]))
                    let result = try await host.run(RemoteCommand("true"))
                    await host.close()
                    return result.succeeded ? nil : "exit \(result.exitStatus ?? -1)"
                } catch {
                    return error.description
                }
            }
        }
        return await group.reduce(into: [String]()) { if let f = $1 { $0.append(f) } }
    }
    await client.shutdown()
    if !failures.isEmpty {
        FileHandle.standardError.write(Data("\(failures.count) failed, e.g. \(failures[0])\n".utf8))
        exit(1)
    }
}

func uploadWorker() async throws {
    let server = hops(ports: [Int(option("--port", "22"))!], key: option("--key", ""), knownHosts: option("--known-hosts", ""))[0]
    let client = SSHClient(options: SSHClientOptions(passphraseProvider: { _ in nil }))
    let host = try await client.connect(SSHTarget(host: server))
    let outcome = try await host.upload(file: option("--file", ""), to: option("--to", ""), mode: 0o644, sudo: .none)
    guard case .uploaded = outcome else { throw Fail(description: "expected an upload, got \(outcome)") }
    await host.close()
    await client.shutdown()
}

// MARK: - Measuring children

struct Measure {
    var wall: Double
    var cpu: Double
    var peakRSS: Int  // bytes, summed over all descendants at the sampled peak
}

func childrenCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN_VALUE, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Sum of VmRSS over every descendant of this process (the sampler's view of "client memory").
func descendantsRSS() -> Int {
    let me = getpid()
    var parent: [Int32: Int32] = [:]
    var rss: [Int32: Int] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 22, let ppid = Int32(fields[1]), let pages = Int(fields[21]) else { continue }
        parent[pid] = ppid
        rss[pid] = pages * 4096
    }
    var total = 0
    for (pid, bytes) in rss {
        var p = parent[pid]
        while let q = p, q > 1 {
            if q == me { total += bytes; break }
            p = parent[q]
        }
    }
    return total
}

func measure(_ command: String) throws -> Measure {
    let peak = Mutex(0)
    let done = Mutex(false)
    let sampler = Thread {
        while !done.get() {
            let now = descendantsRSS()
            peak.update { $0 = max($0, now) }
            usleep(20_000)
        }
    }
    sampler.start()
    let cpuBefore = childrenCPU()
    let start = Date()
    let status = system(command)
    let wall = Date().timeIntervalSince(start)
    done.update { $0 = true }
    guard status == 0 else { throw Fail(description: "failed (\(status)): \(command)") }
    return Measure(wall: wall, cpu: childrenCPU() - cpuBefore, peakRSS: peak.get())
}

final class Mutex<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func update(_ body: (inout T) -> Void) { lock.withLock { body(&value) } }
}

// MARK: - Orchestrator

func run() throws {
    guard getuid() == 0 else { throw Fail(description: "run as root: the benchmark starts its own sshd instances") }
    let sessions = option("--sessions", "50,200,500,1000").split(separator: ",").map { Int($0)! }
    let serverCount = Int(option("--servers", "4"))!
    let uploadMB = Int(option("--upload-mb", "100"))!
    let me = CommandLine.arguments[0]
    let dir = "/tmp/edgeup-ssh-bench-\(getpid())"
    try shell("mkdir -p \(dir) /run/sshd && ssh-keygen -q -t ed25519 -N '' -f \(dir)/id && cp \(dir)/id.pub \(dir)/authorized_keys")
    // An unlocked password (sshd refuses locked accounts without PAM), given on stdin.
    try shell("id \(benchUser) >/dev/null 2>&1 || useradd -M -d /tmp -s /bin/sh \(benchUser)")
    try shell("echo \(benchUser):$(head -c 18 /dev/urandom | base64) | chpasswd")
    var limit = rlimit()
    getrlimit(RLIMIT_NOFILE_VALUE, &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(RLIMIT_NOFILE_VALUE, &limit)  // inherited by the sshd, xargs and worker children

    var ports: [Int] = []
    for i in 0..<serverCount {
        let port = 40_000 + Int(getpid() % 1000) * 10 + i
        ports.append(port)
        try shell("ssh-keygen -q -t ed25519 -N '' -f \(dir)/host\(i)")
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(dir)/host\(i)
            PidFile \(dir)/sshd\(i).pid
            UsePAM no
            StrictModes no
            AuthorizedKeysFile \(dir)/authorized_keys
            PasswordAuthentication no
            MaxStartups 2000:100:2000
            MaxSessions 100
            Subsystem sftp /usr/lib/openssh/sftp-server
            LogLevel \(i == 0 ? "DEBUG1" : "ERROR")

            """
        try config.write(toFile: "\(dir)/sshd\(i).conf", atomically: true, encoding: .utf8)
        try shell("/usr/sbin/sshd -f \(dir)/sshd\(i).conf -E \(dir)/sshd\(i).log")
    }
    defer {
        for i in 0..<serverCount { _ = system("kill $(cat \(dir)/sshd\(i).pid) 2>/dev/null") }
        _ = system("rm -rf \(dir) /tmp/edgeup-bench-upload-*")
    }
    usleep(300_000)

    // A 2,005-entry hashed known_hosts, like a real fleet's.
    var lines = ports.enumerated().map { i, port in
        "[127.0.0.1]:\(port) " + ((try? String(contentsOfFile: "\(dir)/host\(i).pub", encoding: .utf8)) ?? "")
    }.joined()
    for i in 0..<(2005 - serverCount) {
        var blob: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32]
        blob += (0..<32).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0) }
        lines += "10.\(i / 65536).\((i / 256) % 256).\(i % 256) ssh-ed25519 \(Data(blob).base64EncodedString())\n"
    }
    try lines.write(toFile: "\(dir)/known_hosts", atomically: true, encoding: .utf8)
    try shell("ssh-keygen -q -H -f \(dir)/known_hosts >/dev/null 2>&1 && rm -f \(dir)/known_hosts.old")
    let common = "--ports \(ports.map(String.init).joined(separator: ",")) --key \(dir)/id --known-hosts \(dir)/known_hosts"

    // The same key exchange for both: libssh2 1.10 negotiates curve25519-sha256 with OpenSSH 9.2.
    try shell("\(me) sessions --count 1 \(common) >/dev/null")
    let log = (try? String(contentsOfFile: "\(dir)/sshd0.log", encoding: .utf8)) ?? ""
    let kex = log.range(of: "kex: algorithm: ").map { String(log[$0.upperBound...].prefix { !$0.isWhitespace }) } ?? "unknown"
    let sshOptions = "-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=\(dir)/known_hosts " +
        "-o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityAgent=none -o LogLevel=ERROR " +
        "-o KexAlgorithms=\(kex) -o HostKeyAlgorithms=ssh-ed25519 -F /dev/null -i \(dir)/id"

    print("EdgeSSH benchmark: \(serverCount) loopback sshd (OpenSSH 9.2), \(ProcessInfo.processInfo.activeProcessorCount) cores; key exchange \(kex), ed25519 keys, 2,005-entry hashed known_hosts")
    print("connect + host-key check + auth + one command (`true`) + close, all sessions at once")
    print(pad("sessions", 9) + pad("client", 27) + pad("wall s", 9) + pad("CPU ms/session", 16) + pad("peak RSS MB", 13) + "KB/session")
    for n in sessions {
        let targets = (0..<n).map { "-p \(ports[$0 % ports.count]) \(benchUser)@127.0.0.1 true" }.joined(separator: "\n")
        try targets.write(toFile: "\(dir)/targets", atomically: true, encoding: .utf8)
        let rows: [(String, String)] = [
            ("edgeup (libssh2, 1 proc)", "\(me) sessions --count \(n) \(common)"),
            ("xargs -P \(n) ssh", "xargs -P \(n) -L 1 ssh \(sshOptions) < \(dir)/targets"),
        ]
        for (name, command) in rows {
            let m = try measure(command)
            print(pad("\(n)", 9) + pad(name, 27) + pad(String(format: "%.2f", m.wall), 9)
                + pad(String(format: "%.2f", m.cpu * 1000 / Double(n)), 16) + pad(String(format: "%.1f", Double(m.peakRSS) / 1_048_576), 13)
                + String(format: "%.0f", Double(m.peakRSS) / 1024 / Double(n)))
        }
    }

    try shell("head -c \(uploadMB << 20) /dev/urandom > \(dir)/payload")
    print("\nupload of \(uploadMB) MiB on loopback (best of 3)")
    let uploads: [(String, String)] = [
        ("edgeup upload() (sha probe + SFTP 1 MiB writes, mv beside, fsync, mv)", "\(me) upload --port \(ports[0]) --file \(dir)/payload --to /tmp/edgeup-bench-upload-e \(common)"),
        ("OpenSSH scp (SFTP protocol)", "scp -q \(sshOptions) -P \(ports[0]) \(dir)/payload \(benchUser)@127.0.0.1:/tmp/edgeup-bench-upload-s"),
        ("OpenSSH scp -O (legacy SCP protocol)", "scp -q -O \(sshOptions) -P \(ports[0]) \(dir)/payload \(benchUser)@127.0.0.1:/tmp/edgeup-bench-upload-o"),
    ]
    var best: [String: Double] = [:]
    for _ in 0..<3 {
        for (name, command) in uploads {
            _ = system("rm -f /tmp/edgeup-bench-upload-*")
            let m = try measure(command)
            best[name] = max(best[name] ?? 0, Double(uploadMB) / m.wall)
        }
    }
    for (name, _) in uploads { print("  " + pad(name, 60) + String(format: "%7.1f MiB/s", best[name]!)) }
}

#if os(Linux)
let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
let RUSAGE_CHILDREN_VALUE = __rusage_who_t(RUSAGE_CHILDREN.rawValue)
#else
let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
let RUSAGE_CHILDREN_VALUE = RUSAGE_CHILDREN
#endif

do {
    switch CommandLine.arguments.dropFirst().first {
    case "sessions": try await sessionsWorker()
    case "upload": try await uploadWorker()
    case "run": try run()
    default:
        print("usage: edgeup-ssh-bench run [--sessions 50,200,500,1000] [--servers 4] [--upload-mb 100]")
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("edgeup-ssh-bench: \(error)\n".utf8))
    exit(1)
}
