extension Host {
    /// The name the host registers under: its inventory `name` when given (edgeup sets `node-name`),
    /// else its hostname lowercased, as k3s derives it.
    public func nodeName(_ facts: HostFacts) -> String {
        nodeName ?? facts.hostname.lowercased()
    }
}
