/// POSIX shell quoting: every remote command line is built with it, so inventory values cannot inject.
public enum ShellQuote {
    /// One word, single-quoted unless it is made only of characters no shell treats specially.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.unicodeScalars.allSatisfy(isSafe) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A command line whose words are exactly `argv`.
    public static func command(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }

    private static func isSafe(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "/", ",", ":", "@", "%", "+", "=": true
        default: false
        }
    }
}
