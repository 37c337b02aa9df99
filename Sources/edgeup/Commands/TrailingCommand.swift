/// How many of the last positional words were written after `--` on the real command line.
/// ArgumentParser allows no positional after a repeated one, so commands taking files and then a
/// remote command receive both in one array and split it where the user wrote `--`.
func trailingCommandWordCount(_ arguments: [String] = CommandLine.arguments) -> Int {
    arguments.firstIndex(of: "--").map { arguments.count - $0 - 1 } ?? 0
}
