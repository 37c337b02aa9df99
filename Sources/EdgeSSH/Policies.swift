/// How a hop's host key is checked against its known_hosts file.
public enum HostKeyPolicy: String, Sendable, Codable {
    /// The key must already be in known_hosts.
    case strict
    /// Unknown hosts are appended to known_hosts; a changed key still fails.
    case acceptNew = "accept-new"
    /// No check at all; `SSHClient.warnings` says so on every run.
    case insecureIgnore = "insecure-ignore"
}

public enum SSHTransportKind: String, Sendable, Codable {
    /// In-process, non-blocking libssh2: the fast default.
    case libssh2
    /// The system `ssh` binary with a ControlMaster per host: ssh_config, FIDO, RSA on old libssh2.
    case openssh
}
