/// edgeup's own folder on a host (its store lock, its playbook record), outside k3s's data so it
/// survives k3s's uninstall; `edgeup reset` removes it.
enum EdgeupHostFolder {
    static let path = "/var/lib/edgeup"
}
