import EdgeSSH

/// What edgeup's playbooks applied, recorded on the hosts themselves (not on the operator's
/// machine: CI runners come and go). One line per unit, `SHA256 KEY`; the facts probe reads them.
public enum PlaybookRecord {
    /// Manifests, on the first server, inside k3s's data: a cluster wiped by k3s-uninstall.sh
    /// forgets them and gets them applied again.
    public static let cluster = "/var/lib/rancher/k3s/server/edgeup-playbooks"
    /// Files and commands, on each host.
    public static let host = "/var/lib/edgeup/playbooks"
    /// Files are keyed by their path; the probe reports the file's current SHA-256, not the recorded one.
    public static let filePrefix = "file:"

    public static func fileKey(_ path: String) -> String { filePrefix + path }

    /// A root shell script replacing the unit's line in `record` (atomically: temp file + rename).
    static func updateScript(record: String, key: String, sha256: String) -> String {
        let file = ShellQuote.quote(record)
        let temporary = ShellQuote.quote(record + ".tmp")
        return """
            set -e
            mkdir -p "$(dirname \(file))"
            touch \(file)
            awk -v key=\(ShellQuote.quote(key)) '$2 != key' \(file) > \(temporary)
            echo \(ShellQuote.quote("\(sha256) \(key)")) >> \(temporary)
            mv \(temporary) \(file)
            """
    }
}
