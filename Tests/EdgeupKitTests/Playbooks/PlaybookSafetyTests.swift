import EdgeupKit
import Foundation
import Testing

/// What keeps a playbook from leaking secrets, injecting shell syntax into root commands or
/// overwriting edgeup's own files (issue #12).
extension PlaybookRenderingTests {
    static let secretPlaybook = """
        values: {fleet: {token: !env FLEET_TOKEN}}
        steps:
          - name: registration
            manifests:
              - inline: |
                  apiVersion: v1
                  kind: Secret
                  metadata: {name: b64, namespace: kube-system}
                  data: {token: {{ base64(values.fleet.token) }}}
              - inline: |
                  apiVersion: v1
                  kind: Secret
                  metadata: {name: json, namespace: kube-system}
                  stringData: {token: {{ json(values.fleet.token) }}}
              - inline: |
                  apiVersion: v1
                  kind: Secret
                  metadata: {name: upper, namespace: kube-system}
                  stringData:
                    token: |
                      {{ uppercased(values.fleet.token) }}
              - inline: |
                  apiVersion: v1
                  kind: ConfigMap
                  metadata: {name: plain, namespace: kube-system}
                  data: {store: "{{ store.name }}"}
        """

    @Test func aSecretIsSensitiveWhateverTransformFollows() throws {
        let secret = "reg-token-\"quoted\""
        let units = try render(Self.secretPlaybook, environment: ["FLEET_TOKEN": secret]).get()[0].units
        #expect(units.map(\.id) == [
            "site/registration/inline-1", "site/registration/inline-2", "site/registration/inline-3",
            "site/registration/inline-4",
        ])
        // None of the three holds the secret verbatim: the old check (text contains the value) missed them.
        #expect(units[0].content.contains(Data(secret.utf8).base64EncodedString()))
        #expect(units[1].content.contains(#""reg-token-\"quoted\"""#))
        #expect(units[2].content.contains(secret.uppercased()))
        #expect(units[..<3].allSatisfy { !$0.content.contains(secret) })
        #expect(units[..<3].allSatisfy { $0.sensitive }, "\(units.map(\.sensitive))")
        #expect(!units[3].sensitive, "a unit that reads no !env value stays visible")
    }

    @Test func secretsInAListRenderTheirValueAndMarkTheUnit() throws {
        let units = try render("""
            values: {tokens: [!env TOKEN_A, plain]}
            steps:
              - name: tokens
                manifests:
                  - inline: |
                      apiVersion: example.com/v1
                      kind: TokenList
                      metadata: {name: tokens}
                      spec:
                        tokens:
                      {{#values.tokens}}
                          - {{ base64(.) }}
                      {{/values.tokens}}
            """, environment: ["TOKEN_A": "token-a"]).get()[0].units
        let unit = try #require(units.first)
        #expect(unit.content.contains("- \(Data("token-a".utf8).base64EncodedString())"), "\(unit.content)")
        #expect(unit.content.contains("- \(Data("plain".utf8).base64EncodedString())"))
        #expect(unit.sensitive)
    }

    @Test func shellTransformQuotesOneWord() throws {
        let inventory = Self.inventory.replacingOccurrences(
            of: "values: {mqtt: {port: 1883, namespace: sensors}}",
            with: #"values: {mqtt: {port: 1883, namespace: sensors}, motd: "'; rm -rf / #", empty: ""}"#)
        let units = try render("""
            steps:
              - name: motd
                commands:
                  - "printf '%s\\\\n' {{ shell(values.motd) }} {{ shell(values.empty) }} {{ shell(store.name) }} > /etc/motd"
            """, inventory: inventory).get()[0].units
        let command = try #require(units.first?.content)
        #expect(command == #"printf '%s\n' ''\''; rm -rf / #' '' store-001 > /etc/motd"#)
        // What sh makes of it: the hostile value is one argument, nothing else runs.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", command.replacingOccurrences(of: "> /etc/motd", with: "")]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        shell.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed == "'; rm -rf / #\n\nstore-001\n")
    }

    @Test func commandsMustQuoteTheirValues() {
        let problems = errors(render("""
            steps:
              - name: mark
                commands:
                  - "echo {{ store.name }} > /tmp/mark"
                  - |
                    {{#store.servers}}
                    ping -c1 {{ address }} && echo {{{ values.mqtt.port }}} {{& store.name }} {{ shell(address) }}
                    {{/store.servers}}
                  - "{{=<% %>=}} echo <% store.name %>"
            """))
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("/pb/site.yaml:4:15: error: a command uses {{ store.name }} without shell(…)") }, "\(problems)")
        #expect(problems.contains { $0.contains("hint: write {{ shell(store.name) }} to pass the value as one quoted word") })
        #expect(problems.contains { $0.hasPrefix("/pb/site.yaml:7:18: error: a command uses {{ address }}") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("/pb/site.yaml:9:10: error: a command cannot change the template delimiters") }, "\(problems)")
    }

    @Test func shippedPlaybookQuotesItsValues() throws {
        let inventory = """
            defaults: {playbooks: [timezone]}
            stores:
              - name: lisbon-1
                values: {timezone: {zone: "Europe/Lisbon; reboot"}}
                hosts: [{name: s1, address: 10.0.0.1, role: server}]
            """
        let stores = try load(inventory).get().stores
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../playbooks").path
        let (library, problems) = PlaybookLibrary.load(for: stores, searchPath: [shipped])
        #expect(problems.isEmpty, "\(problems)")
        var renderer = PlaybookRenderer(library: library, environment: [:])
        let units = try renderer.render(stores).get()[0].units
        let command = try #require(units.first { $0.id.hasPrefix("timezone/") }?.content)
        #expect(command.contains("zone='Europe/Lisbon; reboot'"), "\(command)")
        #expect(!command.contains("zone=Europe/Lisbon; reboot"))
    }

    @Test func filePathsMayNotEscapeOrReplaceEdgeupsFiles() {
        let paths = [
            "../etc/x", "/opt/app/..", "/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/./config.yaml",
            "/usr/local/bin/k3s", "/etc/rancher/k3s/config.yaml.d/90-mine.yaml", "/etc/rancher/k3s/edgeup-agent-token",
            "/var/lib/rancher/k3s/server/token", "/var/lib/edgeup/playbooks", "/etc/systemd/system/k3s-agent.service.env",
            "/usr/local/bin",
        ]
        let files = paths.map { "      - {path: \($0), content: x}" }.joined(separator: "\n")
        let problems = errors(render("steps:\n  - name: files\n    files:\n\(files)\n"))
        for (index, path) in paths.enumerated() {
            let line = problems.filter { $0.hasPrefix("/pb/site.yaml:\(index + 4):16: error: file path '\(path)'") }
            #expect(line.count == 1, "\(path): \(problems)")
        }
        #expect(problems.count == paths.count, "reported once for both hosts and both stores: \(problems)")
        let reasons = [
            "'../etc/x' is not absolute", "'/opt/app/..' contains '..'",
            "'/etc/rancher/k3s/./config.yaml' may not be written: /etc/rancher/k3s/config.yaml is managed by edgeup",
            "'/usr/local/bin/k3s' may not be written: /usr/local/bin/k3s is managed by edgeup",
            "inside /etc/rancher/k3s/config.yaml.d, which edgeup manages",
            "'/usr/local/bin' may not be written: it would replace the folder holding",
        ]
        for reason in reasons {
            #expect(problems.contains { $0.contains(reason) }, "\(reason): \(problems)")
        }
    }

    @Test func filePathsAreNormalisedAndMayNotHoldSecrets() throws {
        let units = try render("""
            steps:
              - name: app
                files: [{path: "/etc//app/./app.conf", content: x}]
            """).get()[0].units
        #expect(units.first?.kind == .file(path: "/etc/app/app.conf", mode: 0o644))
        #expect(units.first?.id == "site/app/etc-app-app.conf")

        let secret = errors(render("""
            values: {dir: !env APP_DIR}
            steps:
              - name: app
                files: [{path: "/etc/{{ values.dir }}/app.conf", content: x}]
            """, environment: ["APP_DIR": "hidden"]))
        #expect(secret.first?.hasPrefix("/pb/site.yaml:4:21: error: file path '/etc/{{ values.dir }}/app.conf' uses a value read with !env") == true, "\(secret)")
    }
}
