#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EdgeupKit
import Foundation

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes to stderr without a newline (progress lines redrawn with \r).
func printErrorInline(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

let stdoutStyle = TerminalStyle.detect(fileDescriptor: STDOUT_FILENO, environment: ProcessInfo.processInfo.environment)
let stderrStyle = TerminalStyle.detect(fileDescriptor: STDERR_FILENO, environment: ProcessInfo.processInfo.environment)

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// One compact JSON object per line (JSON lines), for machine consumers.
func printJSONLine<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
