import ArgumentParser
import EdgeupKit
import Foundation

extension SingleHostRequest {
    init(host: String, login: LoginOptions, k3s: K3sOptions, context: String?) {
        self.init(
            host: host, user: login.user, sshKey: login.sshKey, sshPort: login.sshPort, sudo: login.sudo,
            knownHosts: login.knownHosts, hostKeyPolicy: login.hostKeyPolicy.rawValue, k3sVersion: k3s.k3sVersion,
            k3sChannel: k3s.k3sChannel, k3sBinary: k3s.k3sBinary, tlsSANs: k3s.tlsSan, extraArgs: k3s.k3sExtraArgs,
            context: context)
    }
}

/// `--context` of install and join, refused before anything connects: it names the kubeconfig
/// entries (and the `--no-merge` file), so it must be a valid context name.
func validateContextFlag(_ context: String?) throws {
    guard let context, let problem = StoreKubeconfig.contextNameProblem(context) else { return }
    throw ValidationError("--context '\(context)' \(problem): \(StoreKubeconfig.contextNameHint)")
}

/// install and join: the one-store inventory built from flags (its diagnostics printed; exit 2 if
/// invalid), planned, shown and executed; `kubeconfig` says where its kubeconfig goes.
func convergeSingleHost(
    _ loaded: SingleHostInventory, kubeconfig: (Inventory) -> KubeconfigDestination, readinessTimeout: Int,
    timeouts: TimeoutOptions
) async throws {
    for diagnostic in loaded.diagnostics { printError(stderrStyle.render(diagnostic)) }
    guard let inventory = loaded.inventory, !inventory.stores.isEmpty else { throw ExitCode(2) }
    let options = SingleHostOptions(
        inventory: inventory, joiner: loaded.joiner, kubeconfig: kubeconfig(inventory),
        readinessTimeout: .seconds(readinessTimeout), connection: timeouts.connection)
    let view = RunView(mode: .plain, factsProgress: false, showsPlan: true)
    let result = await runSingleHost(options, events: view.handle)
    printError(ApplySummary(result: result.rollout, style: stderrStyle).text)
    try exitIfFailed(result.exitCode)
}
