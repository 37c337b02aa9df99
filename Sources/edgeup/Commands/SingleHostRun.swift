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

/// install and join: plan the one-store inventory built from flags, show it, execute it.
/// `onlyHost` limits the work to the joining machine: a join never reconfigures the server.
func convergeSingleHost(
    _ result: InventoryLoadResult, onlyHost: String?, kubeconfig: KubeconfigDestination, readinessTimeout: Int,
    timeouts: TimeoutOptions
) async throws {
    for diagnostic in result.diagnostics { printError(stderrStyle.render(diagnostic)) }
    guard let inventory = result.inventory, let store = inventory.stores.first else { throw ExitCode(2) }
    let hosts = store.hosts.map { StoreHost(store: store, host: $0) }
    let session = FleetSession(inventory: inventory, hosts: hosts, timeouts: timeouts)
    let contexts: Set<String>? = if case let .merge(file, _, _) = kubeconfig { file.contextNames() } else { nil }
    let runner = FleetRunner(
        session: session,
        provisioning: ProvisioningOptions(readinessTimeout: .seconds(readinessTimeout), kubeconfig: kubeconfig),
        kubeconfigContexts: onlyHost == nil ? contexts : nil)
    var plan = await runner.plan(inventory, stores: [store])
    if let onlyHost {
        for index in plan.stores.indices {
            plan.stores[index].plan.actions.removeAll { $0.host != HostID(onlyHost) }
            // The server only has to be reachable and running; its own drift is not this command's business.
            plan.stores[index].plan.problems.removeAll { $0.host != HostID(onlyHost) && !$0.message.hasPrefix("unreachable") }
        }
    }
    for warning in session.client.warnings { printError(stderrStyle.yellow(warning)) }
    printError(PlanText(style: stderrStyle).render(plan.plan))
    let reporter = RunReporter(mode: .plain, style: stderrStyle, total: 1) { FileHandle.standardError.write(Data($0.utf8)) }
    let outcome = await runner.apply(plan, run: RunJournal.newRunID(), journal: nil, events: reporter.handle)
    await session.close()
    printError(ApplySummary(result: outcome, style: stderrStyle).text)
    if !outcome.allConverged { throw ExitCode.failure }
}
