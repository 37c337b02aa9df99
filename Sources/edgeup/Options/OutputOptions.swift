import ArgumentParser

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: text for people, json for machines.")
    var output: OutputFormat = .text
}
