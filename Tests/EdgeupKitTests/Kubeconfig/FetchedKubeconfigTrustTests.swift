import EdgeupKit
import Foundation
import Testing

/// A fetched k3s.yaml is a store's word: only the fields k3s writes are taken, credentials must be
/// PEM of the right kind, and anything else is refused with the store, the entry and the field named.
@Suite struct FetchedKubeconfigTrustTests {
    /// Where a tampered file adds a field: after the server (cluster), the key (user) or the user
    /// reference (context).
    enum Entry: String, CaseIterable {
        case cluster, user, context

        func plant(_ line: String, in text: String) -> String {
            let anchor = switch self {
            case .cluster: "    server: https://127.0.0.1:6443\n"
            case .user: "    client-key-data: \(testKey)\n"
            case .context: "    user: default\n"
            }
            return text.replacingOccurrences(of: anchor, with: anchor + line)
        }
    }

    static let planted: [(Entry, String, String)] = [
        (.user, "exec", "    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, touch /tmp/pwned]}\n"),
        (.user, "auth-provider", "    auth-provider: {name: oidc, config: {cmd-path: /bin/sh}}\n"),
        (.user, "tokenFile", "    tokenFile: /home/op/.ssh/id_ed25519\n"),
        (.user, "token", "    token: abc\n"),
        (.user, "client-certificate", "    client-certificate: /home/op/.ssh/id_ed25519\n"),
        (.user, "as", "    as: system:admin\n"),
        (.cluster, "proxy-url", "    proxy-url: http://203.0.113.9:3128\n"),
        (.cluster, "insecure-skip-tls-verify", "    insecure-skip-tls-verify: true\n"),
        (.cluster, "certificate-authority", "    certificate-authority: /etc/ssl/certs/evil.pem\n"),
        (.cluster, "tls-server-name", "    tls-server-name: prod.example.com\n"),
        (.cluster, "extensions", "    extensions: [{name: edgeup, extension: {fleet: other, store: x}}]\n"),
        (.context, "namespace", "    namespace: kube-system\n"),
    ]

    @Test(arguments: planted.indices)
    func aFieldK3sDoesNotWriteIsRefused(index: Int) throws {
        let (entry, key, line) = Self.planted[index]
        let tampered = entry.plant(line, in: k3sYAML())
        #expect(tampered != k3sYAML(), "planted into the \(entry) entry")
        let error = try refusal(tampered)
        #expect(error.kind == .refused)
        #expect(error.message.hasPrefix("store 'evil': \(entry.rawValue) 'default' has \(key) ("), "\(error)")
        #expect(error.message.hasSuffix("which edgeup does not take from a store"), "\(error)")
        let plantedLine = tampered.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0 + "\n" == line }.map { $0 + 1 }
        #expect(error.location?.line == plantedLine, "points at the planted key: \(error)")
        #expect(error.description.hasPrefix("evil/evil-s1:/etc/rancher/k3s/k3s.yaml:"), "names the fetched file")
        #expect(error.hint?.contains("nothing of it was written") == true)
    }

    @Test func everyPlantedFieldIsListedWithWhyItMatters() throws {
        let tampered = Entry.user.plant(
            "    exec: {command: /bin/sh}\n    tokenFile: /etc/shadow\n", in: k3sYAML())
        let error = try refusal(tampered)
        #expect(error.message.contains("exec (runs a program on your machine at the next kubectl), tokenFile (reads a file on your machine)"), "\(error)")
    }

    static let badData: [(String, String, String)] = [
        ("ca", "not base64 at all!", "certificate-authority-data of cluster 'default' is not base64 of PEM CERTIFICATE blocks"),
        ("ca", Data("hello".utf8).base64EncodedString(), "certificate-authority-data of cluster 'default'"),
        ("ca", pemField("PRIVATE KEY", "k"), "certificate-authority-data of cluster 'default'"),
        ("cert", pemField("PUBLIC KEY", "p"), "client-certificate-data of user 'default' is not base64 of PEM CERTIFICATE blocks"),
        ("cert", Data("# a comment\n".utf8).base64EncodedString() + pemField("CERTIFICATE", "c"), "client-certificate-data"),
        ("key", pemField("CERTIFICATE", "c"), "client-key-data of user 'default' is not base64 of one PEM PRIVATE KEY block"),
        ("key", pemField("EC PRIVATE KEY", "a", "b"), "client-key-data"),
        ("key", pemField("ENCRYPTED PRIVATE KEY", "k"), "client-key-data"),
        ("key", Data("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n".utf8).base64EncodedString(), "client-key-data"),
        ("key", Data("-----BEGIN PRIVATE KEY-----\nAAAA\n".utf8).base64EncodedString(), "client-key-data"),
    ]

    @Test(arguments: badData.indices)
    func credentialsMustBePEMOfTheirKind(index: Int) throws {
        let (field, value, message) = Self.badData[index]
        let fetched = switch field {
        case "ca": k3sYAML(ca: value)
        case "cert": k3sYAML(cert: value)
        default: k3sYAML(key: value)
        }
        let error = try refusal(fetched)
        #expect(error.kind == .refused)
        #expect(error.message.hasPrefix("store 'evil': "), "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test func everyKeyFormOpenSSLWritesIsAccepted() throws {
        for label in ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"] {
            let store = try storeKubeconfig("s", fetched: k3sYAML(key: pemField(label, "k")))
            #expect(store.yaml.contains(pemField(label, "k")))
        }
        let crlf = Data("-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n".utf8).base64EncodedString()
        #expect(throws: Never.self) { try storeKubeconfig("s", fetched: k3sYAML(ca: crlf)) }
    }

    @Test func theRebuiltEntriesHoldOnlyWhatEdgeupSets() throws {
        let yaml = try storeKubeconfig("store-1").yaml
        let cluster = try #require(try entry("clusters", "store-1", in: yaml)?["cluster"]?.mapping)
        #expect(cluster.keys.compactMap(\.string) == ["certificate-authority-data", "server", "extensions"])
        let user = try #require(try entry("users", "store-1", in: yaml)?["user"]?.mapping)
        #expect(user.keys.compactMap(\.string) == ["client-certificate-data", "client-key-data", "extensions"])
        let context = try #require(try entry("contexts", "store-1", in: yaml)?["context"]?.mapping)
        #expect(context.keys.compactMap(\.string) == ["cluster", "user", "extensions"])
    }

    @Test func missingCredentialsAndAPlainHTTPServerAreRefused() throws {
        let noCA = k3sYAML().replacingOccurrences(of: "    certificate-authority-data: \(testCA)\n", with: "")
        #expect(try refusal(noCA).message == "has no certificate-authority-data in cluster 'default'")
        let http = k3sYAML().replacingOccurrences(of: "https://127.0.0.1:6443", with: "http://127.0.0.1:6443")
        #expect(try refusal(http).message.contains("is not an https URL"))
        let badPort = k3sYAML().replacingOccurrences(of: "https://127.0.0.1:6443", with: "https://127.0.0.1:evil")
        #expect(try refusal(badPort).message.contains("numeric port"))
        let nested = Entry.user.plant("", in: k3sYAML()).replacingOccurrences(
            of: "client-key-data: \(testKey)", with: "client-key-data: {a: b}")
        #expect(try refusal(nested).message.contains("'client-key-data' of user 'default' must be a plain string"))
    }

    /// The error `StoreKubeconfig` throws for store `evil`; a failure when it accepts the file.
    private func refusal(_ fetched: String) throws -> KubeconfigError {
        do {
            let accepted = try StoreKubeconfig(
                fetched: fetched, source: "evil/evil-s1:/etc/rancher/k3s/k3s.yaml", context: "evil",
                serverHost: "10.0.0.1", owner: KubeconfigOwner(fleet: "f", store: "evil"))
            Issue.record("accepted:\n\(accepted.yaml)")
            throw CancellationError()
        } catch let error as KubeconfigError {
            return error
        }
    }

    /// A hostile store's alias bomb is refused before anything walks it (no memory blown).
    @Test func anAliasBombInAFetchedFileIsRefused() throws {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]")
        }
        let bomb = k3sYAML() + lines.joined(separator: "\n") + "\n"
        #expect(throws: KubeconfigError.self) {
            try storeKubeconfig("store-1", fetched: bomb)
        }
        do {
            _ = try storeKubeconfig("store-1", fetched: bomb)
        } catch {
            #expect("\(error)".contains("expands past"), "\(error)")
        }
        let keyBomb = "x: &big [a]\n*big : 1\n" + k3sYAML()
        #expect(throws: KubeconfigError.self) { try storeKubeconfig("store-1", fetched: keyBomb) }
    }
}
