import EdgeupKit
import Foundation
import Testing

/// The merged file as real kubectl reads and rewrites it, with real certificates made by openssl.
/// Reaching a live API (`kubectl get nodes`) is left to the lab's integration tests.
@Suite(.enabled(if: executable("kubectl") != nil && executable("openssl") != nil, "needs kubectl and openssl"))
struct KubeconfigKubectlTests {
    @Test func kubectlSeesEveryStoreAndTheOperatorsEntriesUnchanged() throws {
        let folder = try TemporaryFolder()
        let pki = try Certificates(in: folder.path)
        let fetched = k3sYAML(ca: pki.base64("ca.crt"), cert: pki.base64("client.crt"), key: pki.base64("client.key"))
        let file = folder.path + "/config"
        try operatorKubeconfig.write(toFile: file, atomically: false, encoding: .utf8)
        let kubectl = Kubectl(home: folder.path, kubeconfig: file)
        let before = try kubectl.json("config", "view", "--raw", "-o", "json")

        let stores = [
            ("store-1", "10.0.0.1", "https://10.0.0.1:6443"),
            ("store-2", "fd00:42::10", "https://[fd00:42::10]:6443"),
            ("edge-store-3", "store-3.shop.example", "https://store-3.shop.example:6443"),
        ]
        let entries = try stores.map { try storeKubeconfig($0.0, host: $0.1, fetched: fetched, fleet: "lab") }
        var merged = try KubeconfigMerger.merge(entries, into: try contents(file), path: file)
        try merged.text.write(toFile: file, atomically: true, encoding: .utf8)

        let contexts = try kubectl.run("config", "get-contexts", "-o", "name")
        #expect(Set(contexts.split(separator: "\n").map(String.init)) == ["prod", "store-1", "store-2", "edge-store-3"])

        // The operator's entries mean exactly what they meant before, as kubectl itself reads them.
        let after = try kubectl.json("config", "view", "--raw", "-o", "json")
        for section in ["clusters", "users", "contexts"] {
            let old = try #require(before[section] as? [[String: Any]])
            let new = try #require(after[section] as? [[String: Any]])
            for entry in old {
                let name = try #require(entry["name"] as? String)
                let match = new.first { $0["name"] as? String == name }
                #expect(try match.map(canonical) == canonical(entry), "\(section)/\(name)")
            }
        }
        for key in ["preferences", "extensions", "current-context"] {
            #expect(try canonical(after[key] ?? NSNull()) == canonical(before[key] ?? NSNull()), "\(key)")
        }

        for (context, _, server) in stores {
            _ = try kubectl.run("config", "use-context", context)
            #expect(try kubectl.run("config", "current-context") == context + "\n")
            let minified = try kubectl.json("config", "view", "--minify", "--raw", "-o", "json")
            let cluster = try #require((minified["clusters"] as? [[String: Any]])?.first?["cluster"] as? [String: Any])
            #expect(cluster["server"] as? String == server)
            let user = try #require((minified["users"] as? [[String: Any]])?.first?["user"] as? [String: Any])
            // The credentials kubectl hands out are the real ones: the CA verifies the client certificate
            // and the server certificate (whose SANs carry every address above).
            let caText = try #require(cluster["certificate-authority-data"] as? String)
            let certText = try #require(user["client-certificate-data"] as? String)
            let ca = try #require(Data(base64Encoded: caText))
            let cert = try #require(Data(base64Encoded: certText))
            try ca.write(to: URL(fileURLWithPath: folder.path + "/from-kubectl-ca.crt"))
            try cert.write(to: URL(fileURLWithPath: folder.path + "/from-kubectl-client.crt"))
            #expect(user["client-key-data"] as? String == pki.base64("client.key"))
            try pki.verify("from-kubectl-client.crt", against: "from-kubectl-ca.crt")
            try pki.verify("server.crt", against: "from-kubectl-ca.crt")
        }

        // kubectl has rewritten the file (use-context): edgeup's ownership marks survive it, so prune
        // still recognises its entries, and the operator's stay.
        let rewrittenByKubectl = try contents(file)
        let document = try Kubeconfig(parsing: rewrittenByKubectl, path: file)
        #expect(document.owner(ofContext: "store-2") == KubeconfigOwner(fleet: "lab", store: "store-2"))
        #expect(document.owner(ofContext: "prod") == nil)
        merged = try KubeconfigMerger.merge(
            [entries[0]], into: rewrittenByKubectl, path: file, prune: KubeconfigPrune(fleet: "lab", keep: ["store-1"]))
        #expect(merged.removed.sorted() == ["edge-store-3", "store-2"])
        try merged.text.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try kubectl.run("config", "get-contexts", "-o", "name").split(separator: "\n").sorted() == ["prod", "store-1"])
    }
}

/// A CA, a client certificate (system:masters, as k3s's admin) and a server certificate, made by openssl.
private struct Certificates {
    let folder: String

    init(in folder: String) throws {
        self.folder = folder
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=k3s-client-ca", "-days", "2"])
        try openssl(["req"] + key + ["-keyout", "client.key", "-out", "client.csr", "-subj", "/O=system:masters/CN=system:admin"])
        try openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "client.crt", "-days", "2"])
        try "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,IP:fd00:42::10,DNS:store-3.shop.example\n"
            .write(toFile: folder + "/san.ext", atomically: false, encoding: .utf8)
        try openssl(["req"] + key + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=k3s"])
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "server.crt", "-days", "2", "-extfile", "san.ext"])
    }

    func base64(_ name: String) -> String {
        (try? Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)).base64EncodedString()) ?? ""
    }

    func verify(_ certificate: String, against ca: String) throws {
        try openssl(["verify", "-CAfile", ca, certificate])
    }

    @discardableResult
    private func openssl(_ arguments: [String]) throws -> String {
        try runTool("openssl", arguments, in: folder, environment: [:])
    }
}

/// kubectl against one kubeconfig, with HOME inside the test folder so nothing of the machine's leaks in.
private struct Kubectl {
    let home: String
    let kubeconfig: String

    func run(_ arguments: String...) throws -> String {
        try runTool("kubectl", arguments + ["--kubeconfig", kubeconfig], in: home, environment: ["HOME": home])
    }

    func json(_ arguments: String...) throws -> [String: Any] {
        let output = try runTool("kubectl", arguments + ["--kubeconfig", kubeconfig], in: home, environment: ["HOME": home])
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }
}

/// JSON with sorted keys: two values print the same exactly when they mean the same.
private func canonical(_ value: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]), as: UTF8.self)
}

func executable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

private struct ToolFailed: Error, CustomStringConvertible {
    var description: String
}

private func runTool(_ name: String, _ arguments: [String], in folder: String, environment: [String: String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try #require(executable(name)))
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    env["KUBECONFIG"] = nil
    process.environment = env
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolFailed(description: "\(name) \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}
