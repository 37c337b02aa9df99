import Foundation

/// One test case per store, so CI systems show a fleet rollout like a test run: a failed store is
/// a failed test with its reason, a blocked store is an error, a converged one passes.
public struct JUnitReport: Sendable {
    public struct StoreResult: Sendable, Hashable {
        public enum Status: Sendable, Hashable {
            case converged
            case failed(String)
            case notStarted(String)
        }

        public var store: String
        public var status: Status
        public var seconds: Double
        public var log: String

        public init(store: String, status: Status, seconds: Double, log: String = "") {
            self.store = store
            self.status = status
            self.seconds = seconds
            self.log = log
        }
    }

    public var name: String
    public var results: [StoreResult]

    public init(name: String, results: [StoreResult]) {
        self.name = name
        self.results = results
    }

    public var xml: String {
        let failures = results.filter { if case .failed = $0.status { true } else { false } }.count
        let skipped = results.filter { if case .notStarted = $0.status { true } else { false } }.count
        let total = results.reduce(0) { $0 + $1.seconds }
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<testsuites name="\#(escape(name))" tests="\#(results.count)" failures="\#(failures)" skipped="\#(skipped)" time="\#(seconds(total))">"#,
            #"  <testsuite name="\#(escape(name))" tests="\#(results.count)" failures="\#(failures)" skipped="\#(skipped)" time="\#(seconds(total))">"#,
        ]
        for result in results {
            let open = #"    <testcase classname="edgeup.store" name="\#(escape(result.store))" time="\#(seconds(result.seconds))""#
            switch result.status {
            case .converged where result.log.isEmpty:
                lines.append(open + "/>")
            case .converged:
                lines.append(open + ">")
                lines.append("      <system-out>\(escape(result.log))</system-out>")
                lines.append("    </testcase>")
            case let .failed(reason):
                lines.append(open + ">")
                lines.append(#"      <failure message="\#(escape(reason))">\#(escape(result.log))</failure>"#)
                lines.append("    </testcase>")
            case let .notStarted(reason):
                lines.append(open + ">")
                lines.append(#"      <skipped message="\#(escape(reason))"/>"#)
                lines.append("    </testcase>")
            }
        }
        lines.append("  </testsuite>")
        lines.append("</testsuites>")
        return lines.joined(separator: "\n") + "\n"
    }

    private func seconds(_ value: Double) -> String { String(format: "%.3f", value) }

    /// XML-escapes text, dropping control characters XML 1.0 cannot carry (remote output has them).
    private func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "\n", "\t", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }
}
