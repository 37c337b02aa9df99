import EdgeupTestSupport
import Foundation
import Testing

/// `edgeup render` shows what apply sends, except what holds a secret, whatever the template did to it.
@Suite struct RenderSecretsTests {
    @Test func renderWithholdsTransformedSecrets() throws {
        let path = try temporaryInventory("""
            defaults: {playbooks: [site]}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
            """)
        let folder = (path as NSString).deletingLastPathComponent + "/playbooks"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try """
            values: {token: !env SITE_TOKEN}
            steps:
              - name: secret
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: Secret
                      metadata: {name: site}
                      data: {token: {{ base64(values.token) }}}
            """.write(toFile: folder + "/site.yaml", atomically: true, encoding: .utf8)
        let secret = "site-registration-token"
        let run = try edgeup(["render", path], environment: ["NO_COLOR": "1", "SITE_TOKEN": secret])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("# s1: site/secret/inline-1 sha256:"), "\(run.stdout)")
        #expect(run.stdout.contains("withheld"), "\(run.stdout)")
        #expect(!run.stdout.contains(Data(secret.utf8).base64EncodedString()), "\(run.stdout)")
    }
}
