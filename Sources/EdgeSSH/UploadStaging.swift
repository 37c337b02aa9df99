import EdgeCore

/// Where large uploads wait on a host until they are complete and checked: the login user's own
/// 0700 folder in /var/tmp, one `<sha256>.partial` per content, so an interrupted upload (or a
/// copy from another host of the store) is picked up by the next upload of the same content.
public enum UploadStaging {
    /// `$1` the content's SHA-256, `$2` its size: makes sure the login user's staging folder is its
    /// own (not a link, 0700), sweeps partials untouched for a day and seed copies made a day ago
    /// (by ctime: a seed is a hard link, its mtime is the file's), and prints the staged file's
    /// path and how many bytes of it are already there (0 for a new one).
    static let script = """
        set -e
        d=/var/tmp/.edgeup-uploads-$(id -u)
        mkdir -m 700 -- "$d" 2>/dev/null || :
        if [ -L "$d" ] || [ ! -d "$d" ] || [ ! -O "$d" ]; then echo "$d is not this user's own folder: refusing to stage there" >&2; exit 1; fi
        chmod 700 -- "$d"
        find "$d" -maxdepth 1 -type f \\( \\( -name '*.partial' -mmin +1440 \\) -o \\( -name '*.seed' -cmin +1440 \\) \\) -delete 2>/dev/null || :
        f="$d/$1.partial"
        if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then rm -rf -- "$f"; fi
        n=0
        if [ -f "$f" ]; then n=$(wc -c < "$f" | tr -d ' '); fi
        if [ "$n" -gt "$2" ]; then rm -f -- "$f"; n=0; fi
        echo "$f $n"
        """

    /// The staging command for content with this SHA-256 and size, run as the login user.
    public static func command(sha256: String, size: Int) -> RemoteCommand {
        RemoteCommand(ShellQuote.command(["sh", "-c", script, "edgeup", sha256, String(size)]))
    }

    /// The staged file's path and the bytes of it already there, from the command's output.
    public static func parse(_ output: String) -> (path: String, present: Int)? {
        let fields = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard fields.count == 2, fields[0].hasPrefix("/var/tmp/.edgeup-uploads-"), let present = Int(fields[1]), present >= 0 else { return nil }
        return (String(fields[0]), present)
    }
}
