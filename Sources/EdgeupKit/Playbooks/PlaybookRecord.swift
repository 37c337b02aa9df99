/// What edgeup's playbooks applied, recorded on the hosts themselves (not on the operator's
/// machine: CI runners come and go). One line per unit, `SHA256 KEY`; the facts probe reads them.
public enum PlaybookRecord {
    /// Manifests are recorded on the first server inside the cluster's data
    /// (`DistributionFiles.clusterPlaybookRecord`): a wiped cluster gets them applied again.
    /// Files and commands, on each host.
    public static let host = EdgeupHostFolder.path + "/playbooks"
    /// Files are keyed by their path; the probe reports the file's current SHA-256, not the recorded one.
    public static let filePrefix = "file:"

    public static func fileKey(_ path: String) -> String { filePrefix + path }

    /// A root shell script replacing the unit's line in the record "$1" for key "$2" with digest "$3"
    /// (atomically: temp file + rename). Values arrive as parameters, never as shell text.
    static let updateScript: StaticString = """
        set -e
        record=$1 key=$2 digest=$3
        mkdir -p "$(dirname "$record")"
        touch "$record"
        key="$key" awk '$2 != ENVIRON["key"]' "$record" > "$record.tmp"
        printf '%s %s\n' "$digest" "$key" >> "$record.tmp"
        mv "$record.tmp" "$record"
        """
}
