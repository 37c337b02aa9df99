import ArgumentParser
import EdgeSSH
import EdgeupKit
import Foundation

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

/// Where the clusters' kubeconfigs go; read the same way by install, join, apply and kubeconfig.
struct KubeconfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Kubeconfig to merge into; default: first path of $KUBECONFIG, else ~/.kube/config.", valueName: "path"))
    var kubeconfig: String?

    @Flag(name: .customLong("no-merge"), help: "Write one standalone kubeconfig per store into --kubeconfig-dir instead of merging.")
    var noMerge = false

    @Option(name: .customLong("kubeconfig-dir"), help: ArgumentHelp("Folder for --no-merge files.", valueName: "path"))
    var kubeconfigDirectory = "kubeconfigs"

    @Flag(name: .customLong("set-current"), help: "Make the (last) merged context kubectl's current context.")
    var setCurrent = false

    @Option(name: .long, help: ArgumentHelp("Name that scopes which kubeconfig entries this inventory owns (for --prune); default: the inventory files' paths.", valueName: "name"))
    var fleet: String?

    func file() -> KubeconfigFile {
        KubeconfigFile.locate(
            flag: kubeconfig, environment: ProcessInfo.processInfo.environment, homeDirectory: NSHomeDirectory(),
            currentDirectory: FileManager.default.currentDirectoryPath)
    }

    func fleetName(for inventory: Inventory) -> String {
        if let fleet { return fleet }
        let cwd = FileManager.default.currentDirectoryPath
        return inventory.files.map { $0.hasPrefix("/") ? $0 : cwd + "/" + $0 }.sorted().joined(separator: ",")
    }

    func destination(for inventory: Inventory) -> KubeconfigDestination {
        noMerge
            ? .separateFiles(directory: kubeconfigDirectory, fleet: fleetName(for: inventory))
            : .merge(file(), fleet: fleetName(for: inventory), setCurrent: setCurrent)
    }
}
