import EdgeupKit
import Foundation
import Testing
import Yams

/// A kubeconfig data field: base64 of PEM text, one block with `label` per content. The content is
/// not real DER: edgeup checks the PEM armour and its kind, not the certificate inside.
func pemField(_ label: String, _ contents: String...) -> String {
    let blocks = contents.map { "-----BEGIN \(label)-----\n\(Data($0.utf8).base64EncodedString())\n-----END \(label)-----\n" }
    return Data(blocks.joined().utf8).base64EncodedString()
}

/// The data fields of `k3sYAML()`: a CA, a client certificate with its chain (as k3s writes it), a key.
let testCA = pemField("CERTIFICATE", "ca")
let testCert = pemField("CERTIFICATE", "client", "client-ca")
let testKey = pemField("EC PRIVATE KEY", "key")

/// A k3s.yaml as k3s writes it: cluster, user and context all `default`, the server on loopback.
func k3sYAML(ca: String = testCA, cert: String = testCert, key: String = testKey, port: Int = 6443) -> String {
    """
    apiVersion: v1
    clusters:
    - cluster:
        certificate-authority-data: \(ca)
        server: https://127.0.0.1:\(port)
      name: default
    contexts:
    - context:
        cluster: default
        user: default
      name: default
    current-context: default
    kind: Config
    preferences: {}
    users:
    - name: default
      user:
        client-certificate-data: \(cert)
        client-key-data: \(key)

    """
}

/// A store's kubeconfig from a fetched k3s.yaml, pointed at `host`, owned by the `test` fleet.
func storeKubeconfig(_ context: String, host: String = "10.0.0.1", fetched: String = k3sYAML(), fleet: String = "test")
    throws -> StoreKubeconfig
{
    try StoreKubeconfig(
        fetched: fetched, source: "\(context):/etc/rancher/k3s/k3s.yaml", context: context, serverHost: host,
        owner: KubeconfigOwner(fleet: fleet, store: context))
}

/// An operator's kubeconfig with entries edgeup knows nothing about, and fields it does not model.
let operatorKubeconfig = """
    # my clusters — hand-maintained
    # (second header line)
    apiVersion: v1
    kind: Config
    clusters:
    - name: prod
      cluster:
        server: https://prod.example.com:443
        certificate-authority: /etc/prod/ca.pem
        extensions:
        - name: client.authentication.k8s.io/exec
          extension: {audience: prod}
    users:
    - name: prod-admin
      user:
        exec:
          apiVersion: client.authentication.k8s.io/v1
          command: aws
          args: [eks, get-token, --cluster-name, prod]
          interactiveMode: Never
    contexts:
    - name: prod
      context: {cluster: prod, user: prod-admin, namespace: payments}
    current-context: prod
    preferences:
      colors: true
    extensions:
    - name: my-tool
      extension: {last-used: prod}
    x-unknown-field: kept as is

    """

/// The parsed top-level mapping of a kubeconfig.
func tree(_ text: String) throws -> Node.Mapping {
    try #require(try Yams.compose(yaml: text)?.mapping)
}

/// The named entry of a section (`clusters`, `users`, `contexts`), as a node tree.
func entry(_ section: String, _ name: String, in text: String) throws -> Node? {
    try tree(text)[section]?.sequence?.first { $0["name"]?.string == name }
}

func names(_ section: String, in text: String) throws -> [String] {
    try tree(text)[section]?.sequence?.compactMap { $0["name"]?.string } ?? []
}

/// A fresh folder for one test, removed when the scope ends.
struct TemporaryFolder: ~Copyable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-kcfg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func contents(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}

func mode(_ path: String) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
}
