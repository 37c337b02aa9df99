import EdgeCore
import EdgeSSH
import Foundation

/// One store's artifacts crossing its WAN link once: the first host to receive an artifact becomes
/// its seed, and the store's other hosts copy it from the seed over the store's LAN instead of
/// receiving it again from the operator's machine.
///
/// The receiver pulls with the system `ssh`: it makes a key pair of its own, the seed authorizes
/// that key for one hour, from the receiver's address only, for one forced command (`tail` of the
/// artifact from the byte the receiver already has), and removes it afterwards. The copy lands in
/// the receiver's staging folder as the upload's partial, so the upload that follows sends
/// nothing more and puts it in place only once its SHA-256 is the artifact's: the LAN link is not
/// trusted (its host key is not checked), the checksum is. Anything that fails leaves the
/// receiver to the normal upload, which sends what is missing.
actor LANRelay {
    struct Seed: Sendable {
        var host: Host
        var remote: any RemoteHost
        /// Where the artifact is on the seed.
        var path: String
    }

    private var seeds: [String: Seed] = [:]

    /// A host that has the artifact, other than `host`.
    func seed(for sha256: String, excluding host: String) -> Seed? {
        seeds[sha256].flatMap { $0.host.name == host ? nil : $0 }
    }

    func hasSeed(for sha256: String) -> Bool { seeds[sha256] != nil }

    /// Records that `seed` has the artifact (the first host to have it stays its seed).
    func register(_ sha256: String, _ seed: Seed) {
        if seeds[sha256] == nil { seeds[sha256] = seed }
    }

    /// Artifacts smaller than this go from the operator's machine: a LAN copy costs round trips.
    static let minimumSize = 1 << 20

    /// How long the seed accepts the receiver's key, should edgeup not get to remove it.
    static let keyLifetime: TimeInterval = 3600

    /// Receiver, as the login user: `$1` the key's path. Makes a fresh ed25519 key pair (no
    /// passphrase) and prints the public key; fails when the OpenSSH client is not installed.
    static let keyScript = """
        set -e
        command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || { echo "no OpenSSH client on this host" >&2; exit 3; }
        rm -f -- "$1" "$1.pub"
        ssh-keygen -q -t ed25519 -N '' -C edgeup-relay -f "$1"
        cat -- "$1.pub"
        """

    /// Seed, as the login user: `$1` the receiver's address, `$2` the expiry (`YYYYMMDDHHMMZ`), `$3`
    /// the first byte to send (1-based), `$4` the artifact's path, `$5` the key, `$6` its marker.
    static let authorizeScript = """
        set -e
        umask 077
        mkdir -p -- "$HOME/.ssh"
        printf 'restrict,from="%s",expiry-time="%s",command="tail -c +%s -- %s" %s %s\\n' "$1" "$2" "$3" "$4" "$5" "$6" >> "$HOME/.ssh/authorized_keys"
        """

    /// Seed: `$1` the marker; removes the lines that carry it.
    static let revokeScript = """
        f="$HOME/.ssh/authorized_keys"
        [ -f "$f" ] || exit 0
        grep -v -F -- "$1" "$f" > "$f.edgeup-relay" || :
        cat -- "$f.edgeup-relay" > "$f"
        rm -f -- "$f.edgeup-relay"
        """

    /// Receiver: `$1` key, `$2` port, `$3` user@address of the seed, `$4` the partial to append to.
    static let fetchScript = """
        set -e
        ssh -i "$1" -p "$2" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
            -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 -- "$3" >> "$4"
        """

    /// Whether `path` can go inside the forced command's double quotes as it is.
    static func isPlainPath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._/+-".contains($0)) }
    }

    /// A public key line as `ssh-keygen` prints it, nothing else (the receiver is a remote host).
    static func publicKey(_ text: String) -> String? {
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard fields.count >= 2, fields[0] == "ssh-ed25519", fields[1].count <= 100,
              fields[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+/=".contains($0)) }) else { return nil }
        return "ssh-ed25519 " + fields[1]
    }

    static func expiry(after now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmm"
        return formatter.string(from: now.addingTimeInterval(keyLifetime)) + "Z"
    }
}
