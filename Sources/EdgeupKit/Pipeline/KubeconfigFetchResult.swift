/// What `runKubeconfig` fetched and wrote.
public struct KubeconfigFetchResult: Sendable {
    public var entries: [StoreKubeconfig]
    /// Stores whose kubeconfig could not be fetched.
    public var failures: [ProvisioningError]
    /// Stores not written because an entry of their name is not this fleet's.
    public var skipped: [KubeconfigSkip]
    /// With `.print`: the standalone kubeconfig.
    public var standalone: String?
    /// With `.write`: the file merged into, or the folder of separate files.
    public var target: String?
    /// The selected stores' contexts whose client certificate expires within 30 days (or has),
    /// in what was printed or written.
    public var clientCertificateWarnings: [ClientCertificateWarning] = []

    public var written: Int { entries.count - skipped.count }
    public var exitCode: Int32 { failures.isEmpty && skipped.isEmpty ? 0 : 1 }
}

/// Writing the fetched kubeconfigs failed (nothing was written; exit 1).
public struct KubeconfigWriteError: PipelineError {
    public var error: KubeconfigError

    public init(_ error: KubeconfigError) {
        self.error = error
    }

    public var exitCode: Int32 { 1 }
    public var description: String { error.description }

    public func message(style: TerminalStyle) -> String {
        style.render(.error(error.description, at: nil))
    }
}
