import EdgeupKit
import Foundation
import Testing

/// Playbooks from text to rendered units, without hosts: parsing, templating, strictness, errors
/// at file:line:column.
@Suite struct PlaybookRenderingTests {
    static let inventory = """
        defaults:
          playbooks: [site]
          values: {mqtt: {port: 1883, namespace: sensors}}
        stores:
          - name: store-001
            labels: {region: eu, tier: small}
            values: {mqtt: {port: 1884}}
            hosts:
              - {name: s1, address: 10.0.0.1, role: server}
              - {name: a1, address: 10.0.0.2, role: agent, labels: {device: till}}
          - name: store-002
            labels: {region: us, tier: small}
            hosts: [{name: s2, address: 10.0.1.1, role: server}]
        """

    /// Renders `playbook` (as /pb/site.yaml, with extra files) for the inventory's stores.
    func render(
        _ playbook: String, files: [String: String] = [:], environment: [String: String] = [:],
        inventory: String = inventory
    ) -> Result<[StorePlaybooks], DiagnosticsError> {
        let stores = try! load(inventory).get().stores
        var all = files
        all["/pb/site.yaml"] = playbook
        let (library, problems) = PlaybookLibrary.load(for: stores, searchPath: ["/pb"], readFile: { all[$0] })
        if !problems.isEmpty { return .failure(DiagnosticsError(problems)) }
        var renderer = PlaybookRenderer(library: library, environment: environment)
        return renderer.render(stores)
    }

    func errors(_ result: Result<[StorePlaybooks], DiagnosticsError>) -> [String] {
        guard case let .failure(error) = result else {
            Issue.record("expected errors, got a rendering")
            return []
        }
        return error.diagnostics.map(\.description)
    }

    @Test func rendersStoreValuesAndLabelsWithoutEscaping() throws {
        let result = render("""
            values: {mqtt: {image: "eclipse-mosquitto:2.0"}}
            steps:
              - name: broker
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: store-info, namespace: {{ values.mqtt.namespace }}}
                      data:
                        store: "{{ store.name }}"
                        region: "{{ store.labels.region }}"
                        port: "{{ values.mqtt.port }}"
                        image: "{{ values.mqtt.image }}"
                        quoted: "<{{ store.name }}> & co"
                      {{#store.labelList}}
                        label-{{ key }}: "{{ value }}"
                      {{/store.labelList}}
            """)
        let stores = try result.get()
        let first = try #require(stores.first?.units.first)
        #expect(first.id == "site/broker/inline-1")
        #expect(first.content.contains("store: \"store-001\""))
        #expect(first.content.contains("region: \"eu\""))
        #expect(first.content.contains("port: \"1884\""), "the store's value overrides the defaults'")
        #expect(first.content.contains("namespace: sensors"), "deep merge keeps the defaults' other keys")
        #expect(first.content.contains("image: \"eclipse-mosquitto:2.0\""), "the playbook's own defaults apply")
        #expect(first.content.contains("quoted: \"<store-001> & co\""), "no HTML escaping")
        #expect(first.content.contains("label-tier: \"small\""))
        #expect(stores[1].units.first?.content.contains("port: \"1883\"") == true)
        #expect(first.sha256 != stores[1].units.first?.sha256)
    }

    @Test func unknownVariableNamesFileLineAndColumn() {
        let problems = errors(render("""
            steps:
              - name: info
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: info}
                      data: {region: "{{ store.labels.regoin }}"}
            """))
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("/pb/site.yaml:8:") == true, "\(problems)")
        #expect(problems.first?.contains("unknown template variable 'store.labels.regoin'") == true)
        #expect(problems.first?.contains("did you mean 'region'") == true, "\(problems)")
        #expect(problems.first?.contains("store store-001 and 1 more") == true, "reported once for both stores")
    }

    @Test func unknownTopLevelAndInsideSections() {
        let unknownRoot = errors(render("""
            steps:
              - name: info
                manifests: [info.yaml]
            """, files: ["/pb/info.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ stor.name }}}\n"]))
        #expect(unknownRoot.first?.hasPrefix("/pb/info.yaml:3:") == true, "\(unknownRoot)")
        #expect(unknownRoot.first?.contains("'stor'") == true)

        // Inside a section, names climb outwards (store.name is found from a host); a name found
        // nowhere is still an error.
        let inSection = render("""
            steps:
              - name: hosts
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: hosts}
                      data:
                      {{#store.hosts}}
                        {{ name }}: "{{ address }} {{ store.name }}"
                      {{/store.hosts}}
            """)
        #expect((try? inSection.get())?.first?.units.first?.content.contains("s1: \"10.0.0.1 store-001\"") == true)
        let missingInSection = errors(render("""
            steps:
              - name: hosts
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: hosts}
                      data:
                      {{#store.hosts}}
                        {{ name }}: "{{ adress }}"
                      {{/store.hosts}}
            """))
        #expect(missingInSection.count == 1)
        #expect(missingInSection.first?.contains("'adress'") == true, "\(missingInSection)")
        #expect(missingInSection.first?.hasPrefix("/pb/site.yaml:10:") == true, "\(missingInSection)")
    }

    @Test func invalidYAMLAfterRenderingNamesTheManifestLine() {
        let problems = errors(render("""
            steps:
              - name: broken
                manifests: [broken.yaml]
            """, files: ["/pb/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: b\n"]))
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("/pb/broken.yaml:") == true, "\(problems)")
        #expect(problems.first?.contains("invalid YAML") == true)

        let notAnObject = errors(render("""
            steps:
              - name: half
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: ok}
                      ---
                      kind: ConfigMap
                      metadata: {name: no-api-version}
            """))
        #expect(notAnObject.first?.hasPrefix("/pb/site.yaml:9:") == true, "\(notAnObject)")
        #expect(notAnObject.first?.contains("no apiVersion") == true)
    }

    @Test func templateSyntaxErrorsAndShapeErrors() {
        let syntax = errors(render("""
            steps:
              - name: s
                manifests:
                  - inline: |
                      apiVersion: v1
                      {{#store.labels}}
                      kind: ConfigMap
            """))
        #expect(syntax.first?.contains("never closed") == true, "\(syntax)")
        #expect(syntax.first?.hasPrefix("/pb/site.yaml:") == true)

        let shape = errors(render("""
            steps:
              - name: s
                manifests: [a.yaml]
                commands: [echo hi]
              - name: t
                files: [{path: /etc/x, content: hi, mode: 644x}]
              - name: u
                manifests: [missing.yaml]
                wait: soon
            """, files: ["/pb/a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"]))
        #expect(shape.contains { $0.hasPrefix("/pb/site.yaml:2:") && $0.contains("has both manifests and commands") }, "\(shape)")
        #expect(shape.contains { $0.contains("mode must be octal") })
        #expect(shape.contains { $0.contains("cannot read missing.yaml") })
        #expect(shape.contains { $0.contains("wait must be a duration") })
    }

    @Test func filesAndCommandsArePerHostAndRoleFiltered() throws {
        let stores = try render("""
            steps:
              - name: registries
                files:
                  - path: /etc/rancher/k3s/registries.yaml
                    content: "mirrors: {}  # {{ host.name }}\\n"
                    mode: "0600"
              - name: agents only
                when: {role: agent}
                commands: ["echo {{ shell(host.labels.device) }} > /tmp/device"]
            """).get()
        let units = stores[0].units
        #expect(units.map(\.id) == [
            "site/registries/etc-rancher-k3s-registries.yaml", "site/registries/etc-rancher-k3s-registries.yaml",
            "site/agents-only/command-1",
        ])
        #expect(units.map(\.host) == ["s1", "a1", "a1"])
        #expect(units[1].content == "mirrors: {}  # a1\n")
        #expect(units[1].kind == .file(path: "/etc/rancher/k3s/registries.yaml", mode: 0o600))
        #expect(units[1].recordKey == "file:/etc/rancher/k3s/registries.yaml")
        #expect(units[2].content == "echo till > /tmp/device")
    }

    @Test func twoUnitsForOneRecordAreRefused() {
        let problems = errors(render("""
            steps:
              - name: a
                files: [{path: /etc/x.conf, content: one}]
              - name: b
                when: {role: agent}
                files: [{path: /etc/x.conf, content: two}]
            """))
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.hasPrefix("/pb/site.yaml:4:5:") == true, "\(problems)")
        #expect(problems.first?.contains("step 'b' writes /etc/x.conf on a1, as site/a/etc-x.conf already does") == true)
    }

    @Test func environmentValuesAreSecretAndRequiredOnlyWhenUsed() throws {
        let playbook = """
            values: {fleet: {token: !env FLEET_TOKEN, url: "https://fleet.example"}}
            steps:
              - name: registration
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: Secret
                      metadata: {name: reg, namespace: kube-system}
                      stringData: {token: "{{ values.fleet.token }}"}
                  - inline: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: url, namespace: kube-system}
                      data: {url: "{{ values.fleet.url }}"}
            """
        let stores = try render(playbook, environment: ["FLEET_TOKEN": "s3cr3t-registration"]).get()
        #expect(stores[0].units[0].sensitive)
        #expect(stores[0].units[0].content.contains("s3cr3t-registration"))
        #expect(!stores[0].units[1].sensitive)

        let unset = errors(render(playbook))
        #expect(unset.count == 1)
        #expect(unset.first?.contains("values.fleet.token reads the environment variable FLEET_TOKEN, which is not set") == true, "\(unset)")

        // The inventory can give the value instead; then the variable is not needed.
        let literal = Self.inventory.replacingOccurrences(
            of: "values: {mqtt: {port: 1883, namespace: sensors}}",
            with: "values: {mqtt: {port: 1883, namespace: sensors}, fleet: {token: from-inventory}}")
        let fromInventory = try render(playbook, inventory: literal).get()
        #expect(fromInventory[0].units[0].content.contains("from-inventory"))
    }

    @Test func transformsKeepYAMLValid() throws {
        let inventory = Self.inventory.replacingOccurrences(
            of: "values: {mqtt: {port: 1883, namespace: sensors}}",
            with: "values: {mqtt: {port: 1883, namespace: sensors}, ca: \"-----BEGIN X-----\\nabc: \\\"q\\\"\\n-----END X-----\\n\"}")
        let stores = try render("""
            steps:
              - name: ca
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: Secret
                      metadata: {name: ca, namespace: {{ lowercased(values.mqtt.namespace) }}}
                      stringData: {ca.pem: {{ json(values.ca) }}}
                      data: {port: {{ base64(values.mqtt.port) }}}
            """, inventory: inventory).get()
        let content = stores[1].units[0].content
        #expect(content.contains(#"{ca.pem: "-----BEGIN X-----\nabc: \"q\"\n-----END X-----\n"}"#), "\(content)")
        #expect(content.contains("data: {port: MTg4Mw==}"))

        let unknown = errors(render("""
            steps:
              - name: s
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: Namespace
                      metadata: {name: {{ yaml(store.name) }}}
            """))
        #expect(unknown.first?.hasPrefix("/pb/site.yaml:7:") == true, "\(unknown)")
        #expect(unknown.first?.contains("unknown transform 'yaml'") == true)
    }

    @Test func workloadsAreFoundForRolloutWaits() throws {
        let stores = try render("""
            steps:
              - name: broker
                wait: 2m
                manifests:
                  - inline: |
                      apiVersion: apps/v1
                      kind: Deployment
                      metadata: {name: mosquitto, namespace: sensors}
                      spec: {}
                      ---
                      apiVersion: v1
                      kind: Service
                      metadata: {name: mosquitto, namespace: sensors}
            """).get()
        #expect(stores[0].units[0].kind == .manifest(
            deploy: .apply, wait: .seconds(120), workloads: [Workload(kind: "Deployment", namespace: "sensors", name: "mosquitto")]))
    }

    @Test func unknownPlaybookIsReportedAtTheInventory() {
        let stores = try! load(Self.inventory).get().stores
        let (_, problems) = PlaybookLibrary.load(for: stores, searchPath: ["/pb"], readFile: { _ in nil })
        #expect(problems.count == 1)
        #expect(problems.first?.description.hasPrefix("inv.yaml:2:") == true, "\(problems)")
        #expect(problems.first?.message.contains("unknown playbook 'site'") == true)
    }

    @Test func installedPlaybooksAreSearchedLast() {
        let path = PlaybookLibrary.searchPath(
            explicit: ["/mine"], inventoryFiles: ["fleet/inv.yaml"], currentDirectory: "/work",
            installed: "/usr/share/edgeup/playbooks")
        #expect(path == ["/mine", "/work/fleet/playbooks", "/work/playbooks", "/usr/share/edgeup/playbooks"])
        #expect(PlaybookLibrary.installedDirectory == nil, "a build tree has no share/edgeup/playbooks beside bin/")
    }
}
