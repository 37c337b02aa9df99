import EdgeupKit
import Testing
import Yams

/// The pure merge: replace, insert, prune, current-context, and what is preserved.
@Suite struct KubeconfigMergerTests {
    let path = "/home/op/.kube/config"

    @Test func mergeKeepsEverythingElseExactly() throws {
        let stores = [try storeKubeconfig("store-1"), try storeKubeconfig("store-2", host: "10.0.0.2")]
        let result = try KubeconfigMerger.merge(stores, into: operatorKubeconfig, path: path)
        #expect(result.added == ["store-1", "store-2"])
        #expect(result.changed)
        let before = try tree(operatorKubeconfig)
        let after = try tree(result.text)
        // Untouched entries and top-level fields are the same node trees (same meaning, unknown keys too).
        for (section, name) in [("clusters", "prod"), ("users", "prod-admin"), ("contexts", "prod")] {
            #expect(try entry(section, name, in: result.text) == entry(section, name, in: operatorKubeconfig))
        }
        for key in ["apiVersion", "kind", "preferences", "extensions", "x-unknown-field", "current-context"] {
            #expect(after[key] == before[key], "\(key) kept")
        }
        #expect(try names("contexts", in: result.text) == ["prod", "store-1", "store-2"], "appended in order")
        #expect(try names("clusters", in: result.text) == ["prod", "store-1", "store-2"])
        #expect(try names("users", in: result.text) == ["prod-admin", "store-1", "store-2"])
        #expect(Array(after.keys) == Array(before.keys), "top-level key order kept")
        // The leading comment block is the comment edgeup promises to keep.
        #expect(result.text.hasPrefix("# my clusters — hand-maintained\n# (second header line)\napiVersion: v1\n"))
    }

    @Test func remergeWithNewCertificatesReplacesWithoutStaleFields() throws {
        let first = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: operatorKubeconfig, path: path)
        // Someone added a field to our entry by hand: a replaced entry must not keep it.
        let tampered = first.text.replacingOccurrences(
            of: "client-key-data: \(testKey)", with: "client-key-data: \(testKey)\n    client-certificate: /tmp/old.pem")
        #expect(tampered != first.text)
        let (newCA, newCert, newKey) = (pemField("CERTIFICATE", "new-ca"), pemField("CERTIFICATE", "new"), pemField("PRIVATE KEY", "new"))
        let rotated = try storeKubeconfig("store-1", host: "10.0.0.9", fetched: k3sYAML(ca: newCA, cert: newCert, key: newKey))
        let second = try KubeconfigMerger.merge([rotated], into: tampered, path: path)
        #expect(second.replaced == ["store-1"])
        for section in ["clusters", "users", "contexts"] {
            #expect(try names(section, in: second.text).filter { $0 == "store-1" }.count == 1, "no duplicate in \(section)")
        }
        let user = try #require(try entry("users", "store-1", in: second.text)?["user"])
        #expect(user["client-certificate-data"]?.string == newCert)
        #expect(user["client-key-data"]?.string == newKey)
        #expect(user["client-certificate"] == nil, "no stale field")
        #expect(try entry("clusters", "store-1", in: second.text)?["cluster"]?["server"]?.string == "https://10.0.0.9:6443")
        #expect(try entry("clusters", "store-1", in: second.text)?["cluster"]?["certificate-authority-data"]?.string == newCA)
        #expect(!second.text.contains("client-certificate-data: \(testCert)"), "old certificate gone")
    }

    @Test func remergeOfTheSameEntriesIsANoOp() throws {
        let first = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: operatorKubeconfig, path: path)
        let again = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: first.text, path: path)
        #expect(again.unchanged == ["store-1"])
        #expect(!again.changed)
        #expect(again.text == first.text)
    }

    @Test func duplicateNamesInAHandEditedFileCollapseToOne() throws {
        // The operator copied our context entry by hand: both copies carry this fleet's mark.
        let merged = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: operatorKubeconfig, path: path).text
        var root = try tree(merged)
        let ours = try #require(try entry("contexts", "store-1", in: merged))
        root[Node("contexts")] = Node([ours] + (root["contexts"]?.sequence.map(Array.init) ?? []))
        let doubled = try Yams.serialize(node: .mapping(root))
        #expect(try names("contexts", in: doubled) == ["store-1", "prod", "store-1"])
        let result = try KubeconfigMerger.merge([try storeKubeconfig("store-1", host: "10.0.0.9")], into: doubled, path: path)
        #expect(try names("contexts", in: result.text) == ["store-1", "prod"], "replaced in place, the duplicate dropped")
        #expect(result.replaced == ["store-1"])
    }

    @Test func currentContextChangesOnlyWhenAsked() throws {
        let untouched = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: operatorKubeconfig, path: path)
        #expect(untouched.currentContext == "prod")
        #expect(try tree(untouched.text)["current-context"]?.string == "prod")
        let switched = try KubeconfigMerger.merge(
            [try storeKubeconfig("store-1")], into: operatorKubeconfig, path: path, setCurrent: "store-1")
        #expect(switched.currentContext == "store-1")
        #expect(try tree(switched.text)["current-context"]?.string == "store-1")
        #expect(throws: KubeconfigError.self) {
            try KubeconfigMerger.merge([], into: operatorKubeconfig, path: path, setCurrent: "nope")
        }
    }

    @Test func pruneRemovesOnlyWhenAskedAndOnlyThisFleetsEntries() throws {
        var text = operatorKubeconfig
        text = try KubeconfigMerger.merge(
            [try storeKubeconfig("eu-1", fleet: "eu"), try storeKubeconfig("eu-2", fleet: "eu"), try storeKubeconfig("us-1", fleet: "us")],
            into: text, path: path).text
        text = try KubeconfigMerger.merge([try storeKubeconfig("eu-gone", fleet: "eu")], into: text, path: path).text

        // eu-2 and eu-gone left the inventory. Without prune nothing goes.
        let kept = try KubeconfigMerger.merge([try storeKubeconfig("eu-1", fleet: "eu")], into: text, path: path)
        #expect(kept.removed.isEmpty)
        #expect(try names("contexts", in: kept.text).sorted() == ["eu-1", "eu-2", "eu-gone", "prod", "us-1"])

        let pruned = try KubeconfigMerger.merge(
            [try storeKubeconfig("eu-1", fleet: "eu")], into: text, path: path,
            prune: KubeconfigPrune(fleet: "eu", keep: ["eu-1"]))
        #expect(pruned.removed.sorted() == ["eu-2", "eu-gone"])
        #expect(try names("contexts", in: pruned.text).sorted() == ["eu-1", "prod", "us-1"], "other fleet and hand-made kept")
        #expect(try names("clusters", in: pruned.text).sorted() == ["eu-1", "prod", "us-1"])
        #expect(try names("users", in: pruned.text).sorted() == ["eu-1", "prod-admin", "us-1"])
    }

    @Test func pruneKeepsAHandMadeEntryOfTheSameName() throws {
        // edgeup's context, but the user of that name was replaced by the operator's own (no mark).
        let merged = try KubeconfigMerger.merge([try storeKubeconfig("old", fleet: "eu")], into: operatorKubeconfig, path: path).text
        var root = try tree(merged)
        let users = try #require(root["users"]?.sequence).map { user in
            user["name"]?.string == "old" ? try! Yams.compose(yaml: "{name: old, user: {token: operator-made}}")! : user
        }
        root[Node("users")] = Node(users)
        let text = try Yams.serialize(node: .mapping(root))
        #expect(try entry("users", "old", in: text)?["user"]?["token"]?.string == "operator-made")

        let pruned = try KubeconfigMerger.merge([], into: text, path: path, prune: KubeconfigPrune(fleet: "eu", keep: []))
        #expect(pruned.removed == ["old"])
        #expect(try names("contexts", in: pruned.text) == ["prod"])
        #expect(try names("users", in: pruned.text) == ["prod-admin", "old"], "unmarked user stays")
    }

    @Test func emptyOrAbsentFileStartsAFreshKubeconfig() throws {
        for existing in [nil, "", "\n", "# only a comment\n"] as [String?] {
            let result = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: existing, path: path)
            #expect(result.changed)
            let root = try tree(result.text)
            #expect(root["apiVersion"]?.string == "v1")
            #expect(root["kind"]?.string == "Config")
            #expect(try names("contexts", in: result.text) == ["store-1"])
            #expect(root["current-context"] == nil, "merging does not pick a current context")
        }
        #expect(try KubeconfigMerger.merge([try storeKubeconfig("s")], into: "# only a comment\n", path: path).text
            .hasPrefix("# only a comment\napiVersion: v1\n"))
        let nothing = try KubeconfigMerger.merge([], into: nil, path: path)
        #expect(!nothing.changed, "nothing to merge: no file is created")
        #expect(try tree(nothing.text)["kind"]?.string == "Config")
    }

    @Test(arguments: [
        ("clusters: [\n", "is not valid YAML", 2),
        ("- just\n- a list\n", "the document is not a mapping", 1),
        ("apiVersion: v1\nkind: Pod\n", "kind is 'Pod'", 2),
        ("clusters: {a: b}\n", "clusters must be a list", 1),
        ("users:\n- user: {token: x}\n", "has no name", 2),
        ("contexts:\n- name: a\n  context: [x]\n", "context of 'a' must be a mapping", 3),
        ("current-context: [a]\n", "current-context must be a name", 1),
        ("a: 1\n---\nb: 2\n", "is not valid YAML", nil),
    ] as [(String, String, Int?)])
    func invalidFilesAreRefusedWithWhereAndWhat(text: String, message: String, line: Int?) {
        do {
            _ = try KubeconfigMerger.merge([try storeKubeconfig("s")], into: text, path: path)
            Issue.record("accepted an invalid kubeconfig")
        } catch let error as KubeconfigError {
            #expect(error.kind == .invalid)
            #expect(error.path == path)
            #expect(error.message.contains(message), "\(error)")
            if let line { #expect(error.location?.line == line, "\(error)") }
            #expect(error.description.hasPrefix(path + ":"))
            #expect(error.hint?.contains("untouched") == true)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func twoStoresWithOneContextNameAreRefused() throws {
        let a = try storeKubeconfig("same")
        var b = try storeKubeconfig("same")
        b.owner.store = "other"
        #expect(throws: KubeconfigError.self) { try KubeconfigMerger.merge([a, b], into: nil, path: path) }
    }

    @Test func standaloneHasJustTheSelectedStores() throws {
        let text = try KubeconfigMerger.standalone(
            [try storeKubeconfig("store-1"), try storeKubeconfig("store-2")], currentContext: "store-2")
        #expect(try names("contexts", in: text) == ["store-1", "store-2"])
        #expect(try tree(text)["current-context"]?.string == "store-2")
        #expect(try KubeconfigMerger.standalone([try storeKubeconfig("store-1")]).contains("store-1"))
    }
}
