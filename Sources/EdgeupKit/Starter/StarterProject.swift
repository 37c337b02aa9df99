import Foundation

/// What `edgeup init` writes: a commented inventory (one store behind one gateway, the defaults
/// spelled out) and a playbooks folder with one playbook it uses, so `edgeup validate` passes
/// on the result before anything is edited.
public enum StarterProject {
    public static let inventoryFile = "inventory.yaml"
    public static let playbooksFolder = "playbooks"
    static let playbookFile = "playbooks/site.yaml"

    public struct Refusal: Error, Sendable {
        /// The paths that already exist; nothing was written.
        public var existing: [String]
    }

    /// Writes the starter files into `directory` (created if missing). Refuses, writing nothing,
    /// when any of them exists; each file is created exclusively, so a file that appears meanwhile
    /// is not overwritten either. Returns the paths written, in order.
    public static func write(into directory: String) throws -> [String] {
        let files = FileManager.default
        let path = { (name: String) in (directory as NSString).appendingPathComponent(name) }
        let existing = [inventoryFile, playbooksFolder].map(path).filter { files.fileExists(atPath: $0) }
        guard existing.isEmpty else { throw Refusal(existing: existing) }
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try files.createDirectory(atPath: path(playbooksFolder), withIntermediateDirectories: false)
        for (name, text) in [(inventoryFile, inventory), (playbookFile, playbook)] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)), options: .withoutOverwriting)
        }
        return [path(inventoryFile), path(playbooksFolder) + "/", path(playbookFile)]
    }

    static let inventory = """
        # An edgeup inventory: the fleet edgeup keeps converged. Edit the addresses, then
        #   edgeup validate inventory.yaml   # check it offline (file:line:column for every problem)
        #   edgeup plan inventory.yaml       # what would change on each store (read-only)
        #   edgeup apply inventory.yaml      # install k3s, apply the playbooks, merge the kubeconfigs
        # Every key is described under "Inventory reference" in edgeup's README (installed with edgeup
        # in share/doc/edgeup). Values below that say "default" are what edgeup uses when the key is left out.

        defaults:                        # layered under every store and host; they override it key by key
          ssh:
            user: pi                     # default: root
            port: 22                     # default: 22
            # identityFile: ~/.ssh/id_ed25519   # default: ssh-agent and the usual ~/.ssh keys
            knownHostsFile: ~/.ssh/known_hosts  # default: ~/.ssh/known_hosts
            hostKeyPolicy: strict        # default: strict (unknown keys refused); accept-new records a new host's key
            sudo: true                   # default: true unless user is root
            transport: libssh2           # default: libssh2; openssh uses the system ssh (ssh_config, FIDO keys)
            connectTimeout: 10           # default: 10 seconds to reach and log in, per hop
          k3s:
            version: v1.31.4+k3s1        # pin a release (reproducible), or channel: stable (not both)
            # binary: ./bundles/k3s      # air gap: upload this file instead of running the installer
            config:                      # merged into /etc/rancher/k3s/config.yaml on every host
              disable: [traefik]
          # Playbooks by name, found in --playbooks DIR, then playbooks/ beside this file, then
          # ./playbooks, then the ones installed with edgeup (baseline, fleet-agent, mqtt-broker, timezone).
          playbooks: [site]

        gateways:                        # SSH jump hosts; a store (or another gateway) names one with via:
          - name: gw-store-001
            address: 203.0.113.10        # the one address you can reach
            ssh: {user: jump}

        stores:                          # one store = one site = one k3s cluster
          - name: store-001              # a DNS label; also the kubeconfig context (see contextTemplate)
            labels: {region: eu}         # for --selector region=eu and for playbook templates
            via: gw-store-001            # every host of the store is reached through this gateway
            # datastore: sqlite          # default: sqlite for one server, etcd for three or more
            hosts:
              - {name: store-001-pi, address: 192.168.1.10, role: server}
              # - {name: store-001-till, address: 192.168.1.11, role: agent}

        """

    static let playbook = """
        # A playbook of your own, applied after a store's cluster is up to every store that lists it
        # (defaults.playbooks in inventory.yaml). Steps hold manifests, files or commands, each a
        # Mustache template rendered per store: see PLAYBOOKS.md (installed in share/doc/edgeup).
        description: The store's name and region as a ConfigMap apps can read.
        steps:
          - name: site info
            manifests:
              - inline: |
                  apiVersion: v1
                  kind: ConfigMap
                  metadata: {name: site-info, namespace: default}
                  data:
                    store: {{ json(store.name) }}
                    region: {{ json(store.labels.region) }}

        """
}
