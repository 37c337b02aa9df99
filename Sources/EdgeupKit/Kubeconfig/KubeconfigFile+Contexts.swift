extension KubeconfigFile {
    /// Context names in the file; empty when it does not exist, nil when it cannot be read or parsed.
    public func contextNames() -> Set<String>? {
        do {
            guard let text = try read() else { return [] }
            return Set(try Kubeconfig(parsing: text, path: path).names(.contexts))
        } catch {
            return nil
        }
    }
}
