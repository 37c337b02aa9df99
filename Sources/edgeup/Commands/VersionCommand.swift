import ArgumentParser
import EdgeupKit

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print edgeup's version, the commit and date it was built from, and the libssh2 and OpenSSL it uses.",
        discussion: """
            The same as `edgeup --version`. The first line is `edgeup VERSION`; a build made with \
            `swift build` rather than `make release` says commit "unknown", built "development".
            """
    )

    func run() {
        print(EdgeupVersion.report)
    }
}
