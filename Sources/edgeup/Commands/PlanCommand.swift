import ArgumentParser
import EdgeupKit
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change on every selected store, from facts gathered over SSH.",
        discussion: """
            Connects to every selected host (read-only), gathers facts (k3s installed? version? \
            config? service? node joined?) and prints, per store, the ordered actions apply would \
            take and why. Changes nothing. Unreachable hosts are reported, not fatal.

            Exit codes: 0 plan made (1 if any store is blocked). With --detailed-exitcode: 0 nothing \
            to do, 2 changes pending, 1 error or blocked store.

            Example:
              edgeup plan inventories/coffee-shops.yaml --stores 'eu-*' --out plan.json
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var kubeconfig: KubeconfigOptions
    @OptionGroup var playbooks: PlaybookOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Flag(name: .customLong("playbooks-only"), help: "Plan only playbooks, on stores whose cluster runs; leave k3s as it is.")
    var playbooksOnly = false

    @OptionGroup var upgrade: UpgradeOptions

    @Option(name: .long, help: ArgumentHelp("Also save the plan as JSON here (for apply --plan).", valueName: "path"))
    var out: String?

    @Flag(name: .customLong("detailed-exitcode"), help: "Exit 0 when nothing is to do, 2 when changes are pending, 1 on errors.")
    var detailedExitcode = false

    @Option(name: .long, help: "Hosts to gather facts from at once.")
    var concurrency = 100

    func run() async throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        let planning = try PlanningOptions(
            inventory, stores: stores, playbooks: playbooks, playbooksOnly: playbooksOnly, upgrade: upgrade,
            kubeconfig: kubeconfig, timeouts: timeouts, concurrency: concurrency)
        let plan = try await runPlan(PlanOptions(planning: planning, out: out), events: FactsProgressLine().handle)
        switch output.output {
        case .json: try printJSON(plan)
        case .text: print(PlanText(style: stdoutStyle).render(plan), terminator: "")
        }
        try exitIfFailed(plan.exitCode(detailed: detailedExitcode))
    }
}
