import ArgumentParser
import EdgeSSH

extension HostKeyPolicy: ExpressibleByArgument {}

/// How to log in to the machine(s) of a one-machine command (k3sup-compatible names).
struct LoginOptions: ParsableArguments {
    @Option(name: .long, help: "SSH user.")
    var user: String = "root"

    @Option(name: .customLong("ssh-key"), help: ArgumentHelp("Identity file to try first (then ssh-agent).", valueName: "path"))
    var sshKey: String?

    @Option(name: .customLong("ssh-port"), help: "SSH port.")
    var sshPort: Int = 22

    @Flag(inversion: .prefixedNo, help: "Run privileged steps through sudo (default: on unless --user is root).")
    var sudo: Bool?

    @Option(name: .customLong("known-hosts"), help: ArgumentHelp("known_hosts file to verify host keys against.", valueName: "path"))
    var knownHosts: String = "~/.ssh/known_hosts"

    @Option(name: .customLong("host-key-policy"), help: "strict: unknown keys fail; accept-new: record unknown keys, still fail on changed ones.")
    var hostKeyPolicy: HostKeyPolicy = .strict

    func validate() throws {
        guard (1...65535).contains(sshPort) else { throw ValidationError("--ssh-port must be 1-65535") }
        if hostKeyPolicy == .insecureIgnore {
            throw ValidationError("--host-key-policy insecure-ignore is only available per host in an inventory, where it is reported on every run")
        }
    }
}

/// What k3s to put on the machine and how (k3sup-compatible names).
struct K3sOptions: ParsableArguments {
    @Option(name: .customLong("k3s-version"), help: "k3s version to install, e.g. v1.31.4+k3s1.")
    var k3sVersion: String?

    @Option(name: .customLong("k3s-channel"), help: "k3s release channel to follow instead of a version, e.g. stable.")
    var k3sChannel: String?

    @Option(name: .customLong("k3s-binary"), help: ArgumentHelp("Air gap: upload this local k3s binary instead of downloading on the host.", valueName: "path"))
    var k3sBinary: String?

    @Option(name: .customLong("tls-san"), help: ArgumentHelp("Extra name or address for the API certificate (repeatable).", valueName: "name"))
    var tlsSan: [String] = []

    @Option(name: .customLong("k3s-extra-args"), help: ArgumentHelp("Extra k3s flags, e.g. '--disable traefik'; written to config.yaml, never to argv.", valueName: "flags"))
    var k3sExtraArgs: String?

    func validate() throws {
        if k3sVersion != nil && k3sChannel != nil {
            throw ValidationError("--k3s-version and --k3s-channel exclude each other: pin a version or follow a channel")
        }
    }
}

/// Where the cluster's kubeconfig goes.
struct KubeconfigOptions: ParsableArguments {
    @Option(name: .long, help: "Context (and cluster/user) name in the merged kubeconfig; default: the host.")
    var context: String?

    @Option(name: .long, help: ArgumentHelp("Kubeconfig to merge into; default: first path of $KUBECONFIG, else ~/.kube/config.", valueName: "path"))
    var kubeconfig: String?

    @Flag(name: .customLong("no-merge"), help: "Write a standalone kubeconfig file instead of merging.")
    var noMerge = false
}
