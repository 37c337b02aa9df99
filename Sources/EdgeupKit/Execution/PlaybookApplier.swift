import Foundation

/// Applies a store's planned playbook units once its cluster is up, step by step in playbook
/// order: manifests through the first server (`kubectl apply --server-side`, then `rollout
/// status` for workloads), files and commands on their hosts (hosts of one step in parallel).
/// A unit is recorded on the host only after it fully succeeded, so a failed or cut-off run
/// applies it again next time. Content goes over stdin or SFTP, never in a command line.
struct PlaybookApplier: Sendable {
    let store: Store
    let playbooks: StorePlaybooks
    let first: HostOperator
    let makeOperator: @Sendable (Host) async throws -> HostOperator
    let events: @Sendable (RunEvent) -> Void
    let run: String

    /// Field manager for server-side apply: edgeup owns what its playbooks set.
    static let fieldManager = "edgeup"

    func apply(_ actions: [PlannedAction]) async throws -> [String] {
        let planned = try actions.map { action -> (PlannedAction, PlaybookUnit) in
            guard let reference = action.unit, let unit = playbooks.unit(id: reference.id, host: action.host?.name) else {
                throw ProvisioningError(host: store.name, step: .playbook(nil), "\(action.reason): not in the rendered playbooks")
            }
            guard unit.sha256 == reference.sha256 else {
                throw ProvisioningError(
                    host: store.name, step: .playbook(unit.id), "its content changed since the plan was made; plan again")
            }
            return (action, unit)
        }
        var done: [String] = []
        // Consecutive units of one step form a group; groups run in order.
        var groups: [[(PlannedAction, PlaybookUnit)]] = []
        for item in planned {
            if let last = groups.last?.last, last.1.playbook == item.1.playbook, last.1.step == item.1.step {
                groups[groups.count - 1].append(item)
            } else {
                groups.append([item])
            }
        }
        for group in groups {
            for (action, unit) in group where unit.host == nil {
                try await perform(action, unit, on: first)
                done.append("apply-playbook \(unit.id)")
            }
            let byHost = Dictionary(grouping: group.filter { $0.1.host != nil }) { $0.1.host! }
            try await withThrowingTaskGroup(of: [String].self) { tasks in
                for (hostName, items) in byHost {
                    guard let host = store.hosts.first(where: { $0.name == hostName }) else { continue }
                    tasks.addTask {
                        let node = host.name == first.target.host.name ? first : try await makeOperator(host)
                        var steps: [String] = []
                        for (action, unit) in items {
                            try await perform(action, unit, on: node)
                            steps.append("apply-playbook \(unit.id) on \(host.name)")
                        }
                        return steps
                    }
                }
                for try await steps in tasks { done += steps }
            }
        }
        return done
    }

    private func perform(_ action: PlannedAction, _ unit: PlaybookUnit, on node: HostOperator) async throws {
        let host = node.target.host.name
        events(RunEvent(.stepStarted, run: run, store: store.name, host: host, action: .applyPlaybook, message: unit.id))
        do {
            try await execute(unit, on: node)
        } catch let error as ProvisioningError {
            events(RunEvent(
                .stepFinished, run: run, store: store.name, host: host, action: .applyPlaybook, outcome: .failed,
                message: error.summary))
            throw error
        }
        events(RunEvent(.stepFinished, run: run, store: store.name, host: host, action: .applyPlaybook, outcome: .changed, message: unit.id))
    }

    private func execute(_ unit: PlaybookUnit, on node: HostOperator) async throws {
        let step = ProvisioningStep.playbook(unit.id)
        switch unit.kind {
        case let .manifest(.apply, wait, workloads):
            let command = node.distribution.kubectl([
                "apply", "--server-side", "--force-conflicts", "--field-manager", Self.fieldManager, "-f", "-",
            ])
            try await node.privileged(command, step: step, timeout: .seconds(300), stdin: Data(unit.content.utf8))
            if let wait {
                let seconds = max(1, Int(wait.components.seconds))
                for workload in workloads {
                    let rollout = node.distribution.kubectl([
                        "rollout", "status", "\(workload.kind.lowercased())/\(workload.name)", "-n", workload.namespace,
                        "--timeout=\(seconds)s",
                    ])
                    try await node.privileged(rollout, step: .rollout(unit: unit.id, workload: "\(workload)"), timeout: wait + .seconds(60))
                }
            }
            try await record(unit.id, unit.sha256, in: node.files.clusterPlaybookRecord, on: node, step: step)
        case .manifest(.autoDeploy, _, _):
            let path = unit.autoDeployPath
            try await node.privileged(["mkdir", "-p", node.files.autoDeployManifests], step: step)
            try await node.upload(data: unit.content, to: path, mode: 0o600, step: step)
            try await record(PlaybookRecord.fileKey(path), unit.sha256, in: node.files.clusterPlaybookRecord, on: node, step: step)
        case let .file(path, mode):
            try await node.privileged(["mkdir", "-p", "--", (path as NSString).deletingLastPathComponent], step: step)
            try await node.upload(data: unit.content, to: path, mode: mode, step: step)
            try await record(unit.recordKey, unit.sha256, in: PlaybookRecord.host, on: node, step: step)
        case .command:
            // The command travels on stdin: what it says (maybe a secret) stays out of every argv.
            try await node.privileged(
                ["sh", "-s"], step: step, timeout: .seconds(600), stdin: Data(unit.content.utf8),
                shown: unit.sensitive ? "(\(unit.id): withheld, it holds a secret)" : unit.content)
            try await record(unit.id, unit.sha256, in: PlaybookRecord.host, on: node, step: step)
        }
    }

    private func record(_ key: String, _ sha256: String, in record: String, on node: HostOperator, step: ProvisioningStep) async throws {
        try await node.privileged(script: PlaybookRecord.updateScript, [record, key, sha256], step: step)
    }
}
