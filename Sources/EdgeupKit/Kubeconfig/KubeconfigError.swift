/// Why a kubeconfig could not be read, rewritten, locked or written: always names the file and what is
/// wrong with it, because the operator has to find and fix it by hand.
public struct KubeconfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The file exists but cannot be read (permissions, a directory, not UTF-8).
        case unreadable
        /// The file is not a kubeconfig edgeup can safely rewrite; it is left untouched.
        case invalid
        /// A fetched k3s.yaml does not hold the cluster, user and context edgeup expects.
        case invalidFetched
        /// A fetched k3s.yaml holds something edgeup does not take from a store (a field beyond server,
        /// CA and client certificate and key, or credentials that are not the PEM they claim to be).
        case refused
        /// An entry of that name is in the kubeconfig and is not this fleet's: left alone, store skipped.
        case notOwned
        /// A context name that is not a DNS subdomain (it names entries and `--no-merge` files).
        case invalidName
        /// `<file>.lock` stayed in place for the whole wait.
        case locked
        /// Creating the folder, the temporary file or renaming it failed; the old file is untouched.
        case writeFailed
        /// The entries to merge contradict each other (two stores with one context name).
        case conflict
    }

    public var kind: Kind
    /// The file concerned (for `locked`, the kubeconfig; the message names the lock file).
    public var path: String
    /// Where in the file, when the problem is at a known place.
    public var location: SourceLocation?
    public var message: String
    public var hint: String?

    public init(_ kind: Kind, path: String, _ message: String, at location: SourceLocation? = nil, hint: String? = nil) {
        self.kind = kind
        self.path = path
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// `file[:line:column]: error: message`, the same shape as inventory diagnostics.
    public var description: String {
        var text = "\(location?.description ?? path): error: \(message)"
        if let hint { text += "\n    hint: \(hint)" }
        return text
    }
}
