import CEdgeupBuild
import EdgeCore
import EdgeSSH

/// edgeup's own version, printed by `edgeup version` and `--version` and recorded in run journals.
public enum EdgeupVersion {
    public static let current = "0.1.0-dev"
    /// `git describe --always --dirty` of the tree `make release` built; "unknown" for `swift build`.
    public static let commit = String(cString: edgeup_build_commit())
    /// The UTC day `make release` ran (or SOURCE_DATE_EPOCH's); "development" for `swift build`.
    public static let buildDate = String(cString: edgeup_build_date())

    /// Everything a bug report needs: the version on the first line (`edgeup 0.1.0`), then the
    /// commit, build date and the libssh2 and OpenSSL linked in (statically, in a release binary).
    public static var report: String {
        """
        edgeup \(current)
        commit:  \(commit)
        built:   \(buildDate)
        libssh2: \(LinkedLibSSH2.version)
        OpenSSL: \(OpenSSLProcess.version)
        """
    }
}
