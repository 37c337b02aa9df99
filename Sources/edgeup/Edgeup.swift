import ArgumentParser
import EdgeupKit

@main
struct Edgeup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgeup",
        abstract: "Bootstrap and keep converged k3s clusters across a fleet of edge sites, over SSH.",
        discussion: """
            One machine, k3sup-style:
              edgeup install --host 10.0.0.5 --user pi
              edgeup join --host 10.0.0.6 --server-host 10.0.0.5

            A fleet from an inventory (YAML; `edgeup init` writes a commented one to start from):
              edgeup validate inventories/coffee-shops.yaml
              edgeup plan inventories/coffee-shops.yaml
              edgeup apply inventories/coffee-shops.yaml

            Exit codes: 0 success, 1 failure, 2 invalid inventory, 64 invalid flags. \
            Colour is off when output is not a terminal or NO_COLOR is set.
            """,
        version: EdgeupVersion.report,
        subcommands: [
            InstallCommand.self, JoinCommand.self, ValidateCommand.self, RenderCommand.self, PlanCommand.self, ApplyCommand.self,
            KubeconfigCommand.self, ExecCommand.self, StatusCommand.self, ResetCommand.self, BackupCommand.self, RestoreCommand.self,
            ProxyCommand.self, KubectlCommand.self, SSHCommand.self,
            InitCommand.self, VersionCommand.self,
        ]
    )
}
