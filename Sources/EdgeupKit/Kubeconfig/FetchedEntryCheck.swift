import Yams

/// The checks a fetched k3s.yaml's entries pass before edgeup rebuilds them: every field is one k3s
/// writes, every value a plain string, every credential PEM of the right kind. Errors name the store,
/// the entry and the field, at its place in the fetched file.
struct FetchedEntryCheck {
    /// The fetched file, as errors name it (`store/host:/etc/rancher/k3s/k3s.yaml`).
    var source: String
    var store: String

    /// Why a field is dangerous in the operator's kubeconfig, for the fields a tampered file would use.
    static let reasons: [String: String] = [
        "exec": "runs a program on your machine at the next kubectl",
        "auth-provider": "runs an authentication plugin on your machine",
        "token": "a credential k3s does not write",
        "tokenFile": "reads a file on your machine",
        "username": "a credential k3s does not write",
        "password": "a credential k3s does not write",
        "client-certificate": "reads a file on your machine",
        "client-key": "reads a file on your machine",
        "certificate-authority": "reads a file on your machine",
        "proxy-url": "sends your API traffic through a proxy the store chose",
        "insecure-skip-tls-verify": "turns off TLS verification",
        "tls-server-name": "changes the name the server certificate is checked against",
        "as": "impersonates another user",
        "as-groups": "impersonates other groups",
        "as-uid": "impersonates another user",
        "as-user-extra": "impersonates another user",
        "namespace": "not a field k3s writes",
        "extensions": "tool data k3s does not write",
    ]

    /// The entry's fields as strings, when it has only `allowed` ones; refused otherwise, with every
    /// field that is not allowed listed.
    func fields(of body: Node, _ entry: String, allowed: Set<String>) throws(KubeconfigError) -> [String: String] {
        guard let mapping = body.mapping else {
            throw refused("\(entry) is not a mapping", at: body)
        }
        var fields: [String: String] = [:]
        var others: [(key: String, node: Node)] = []
        for (key, value) in mapping {
            let name = key.string ?? "?"
            guard allowed.contains(name) else {
                others.append((name, key))
                continue
            }
            guard let text = value.scalar?.string, value.tagName != .null else {
                throw refused("'\(name)' of \(entry) must be a plain string", at: value)
            }
            fields[name] = text
        }
        if let first = others.first {
            let listed = others.map { "\($0.key) (\(Self.reasons[$0.key] ?? "not a field k3s writes"))" }
            throw refused(
                "\(entry) has \(listed.joined(separator: ", ")), which edgeup does not take from a store", at: first.node)
        }
        return fields
    }

    /// Refuses a data field that is not base64 of the PEM it names.
    func pem(_ value: String, field: String, of entry: String, kind: PEMKind) throws(KubeconfigError) {
        guard let blocks = PEMBlocks(field: value), kind.accepts(blocks) else {
            throw refused("\(field) of \(entry) is not \(kind.expected)", at: nil)
        }
    }

    private func refused(_ message: String, at node: Node?) -> KubeconfigError {
        let location = node?.mark.map { SourceLocation(file: source, line: $0.line, column: $0.column) }
        return KubeconfigError(
            .refused, path: source, "store '\(store)': \(message)", at: location,
            hint: "k3s writes only server, certificate-authority-data, client-certificate-data and client-key-data; "
                + "this file was changed on the store: nothing of it was written, inspect the store before trusting it")
    }
}
