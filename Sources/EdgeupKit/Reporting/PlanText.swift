/// Renders a plan for people: totals, then problems, then the changes grouped so that a thousand
/// stores needing the same thing read as one group, not a thousand paragraphs.
public struct PlanText: Sendable {
    public var style: TerminalStyle
    /// Stores named in full in a group before the list is abbreviated.
    public var namesPerGroup = 8

    public init(style: TerminalStyle) {
        self.style = style
    }

    public func render(_ plan: Plan) -> String {
        var lines: [String] = []
        let converged = plan.stores.filter { $0.status == .converged }.count
        let changes = plan.stores.filter { $0.status == .changes }.count
        let blocked = plan.stores.filter { $0.status == .blocked }.count
        lines.append(style.bold("Plan: \(count(plan.stores.count, "store"))") + " — \(converged) converged, "
            + "\(changes) with changes, " + (blocked > 0 ? style.red("\(blocked) blocked") : "0 blocked"))
        let counts = plan.actionCounts.sorted { $0.key < $1.key }
        if !counts.isEmpty {
            lines.append("Actions: " + counts.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))
        }
        let uploads = plan.stores.map(\.uploadBytes).reduce(0, +)
        if uploads > 0 {
            lines.append("Uploads: about \(ByteText.size(uploads)) from this machine, \(count(plan.stores.filter { $0.uploadBytes > 0 }.count, "store")) receiving")
        }
        let blockedStores = plan.stores.filter { $0.status == .blocked }
        if !blockedStores.isEmpty {
            lines.append("")
            lines.append(style.red("Blocked (\(blockedStores.count)):"))
            for store in blockedStores {
                for problem in store.problems {
                    lines.append("  \(store.store): \(problem)")
                }
            }
        }
        let changed = plan.stores.filter { !$0.actions.isEmpty }
        if !changed.isEmpty {
            lines.append("")
            lines.append(style.bold("Changes:"))
            for group in groups(changed) {
                lines.append("  " + style.bold(names(group.stores)))
                for action in group.template {
                    lines.append("    \(action.kind.rawValue)\(action.host.map { " \($0)" } ?? ""): \(action.reason)")
                }
                if group.sample.uploadBytes > 0 {
                    let sample = group.sample
                    let each = group.stores.count > 1 ? " each" : ""
                    let lan = sample.hostsReceiving > 1
                        ? ", each artifact once: the other \(count(sample.hostsReceiving - 1, "host")) copy it across the store's LAN"
                        : ""
                    lines.append("    " + style.dim("receives\(each) about \(ByteText.size(sample.uploadBytes)) from this machine\(lan)"))
                }
            }
        }
        let unmanaged = plan.stores.compactMap { store in store.unmanagedNodes.map { (store.store, $0) } }
        if !unmanaged.isEmpty {
            lines.append("")
            lines.append(style.yellow("Unmanaged nodes (in the cluster, not in the inventory; left alone):"))
            for (store, nodes) in unmanaged { lines.append("  \(store): \(nodes.joined(separator: ", "))") }
        }
        let certificates = certificateLines(plan)
        lines += certificates
        if !plan.hasChanges && !plan.hasProblems {
            if !certificates.isEmpty { lines.append("") }
            lines.append(style.green("Nothing to do: every store matches the inventory."))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Stores whose actions are the same up to host names form one group, shown once with its store
    /// names and the shared actions (host names dropped: they differ from store to store).
    private func groups(_ stores: [StorePlan]) -> [(stores: [String], template: [PlannedAction], sample: StorePlan)] {
        var order: [[String]] = []
        var byKey: [[String]: (stores: [String], template: [PlannedAction], sample: StorePlan)] = [:]
        for store in stores {
            let key = store.actions.map { "\($0.kind.rawValue)|\($0.reason)" }
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = ([], store.actions, store)
            }
            byKey[key]?.stores.append(store.store.name)
        }
        return order.compactMap { key in
            guard let group = byKey[key] else { return nil }
            guard group.stores.count > 1 else { return group }
            let template = group.template.map { action -> PlannedAction in
                var action = action
                action.host = nil
                return action
            }
            return (group.stores, template, group.sample)
        }
    }

    /// Certificates inside or near their store's renewal window (`CertificateText.planDeadlines`),
    /// days left counted from when the plan was made; stores sharing a note form one line.
    private func certificateLines(_ plan: Plan) -> [String] {
        var order: [String] = []
        var groups: [String: (stores: [String], note: String, deadline: CertificateDeadline, window: Int)] = [:]
        for store in plan.stores {
            guard let window = store.certificates?.renewalWindowDays else { continue }
            for deadline in CertificateText.planDeadlines(store, at: plan.createdAt) {
                let shared = CertificateText.planNote(deadline, window: window, host: false)
                if groups[shared] == nil {
                    order.append(shared)
                    groups[shared] = ([], CertificateText.planNote(deadline, window: window, host: true), deadline, window)
                }
                groups[shared]?.stores.append(store.store.name)
            }
        }
        guard !order.isEmpty else { return [] }
        return ["", style.bold("Certificates:")] + order.compactMap { shared in
            guard let group = groups[shared] else { return nil }
            let note = group.stores.count == 1 ? group.note : shared
            let shown = group.deadline.daysLeft < 0 ? style.red(note)
                : group.deadline.daysLeft < group.window ? style.yellow(note) : note
            return "  " + style.bold(names(group.stores)) + ": " + shown
        }
    }

    private func names(_ stores: [String]) -> String {
        if stores.count == 1 { return stores[0] }
        let shown = stores.prefix(namesPerGroup).joined(separator: ", ")
        let more = stores.count > namesPerGroup ? ", … +\(stores.count - namesPerGroup) more" : ""
        return "\(stores.count) stores (\(shown)\(more))"
    }

    private func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}
