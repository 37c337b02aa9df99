import Foundation

/// The PEM blocks in a kubeconfig `*-data` field (base64 of PEM text), read strictly: only
/// `-----BEGIN L-----` / base64 lines / `-----END L-----` blocks separated by blank space. A fetched
/// k3s.yaml is untrusted, so anything else — text around the blocks, encryption headers, a body that
/// is not base64 — makes the whole field unreadable rather than half-understood.
struct PEMBlocks: Sendable, Hashable {
    /// The labels of the blocks, in order (`CERTIFICATE`, `EC PRIVATE KEY`, …).
    var labels: [String]

    /// Nil when `field` is not base64 of PEM text.
    init?(field: String) {
        guard let decoded = Data(base64Encoded: field), let text = String(data: decoded, encoding: .utf8) else {
            return nil
        }
        var labels: [String] = []
        var open: String?
        var body = ""
        // `isNewline`: "\r\n" is one Character in Swift, so splitting on "\n" would miss it.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if let label = open {
                if line == "-----END \(label)-----" {
                    guard !body.isEmpty, Data(base64Encoded: body) != nil else { return nil }
                    labels.append(label)
                    open = nil
                    body = ""
                } else {
                    guard !line.isEmpty, line.allSatisfy(Self.isBase64) else { return nil }
                    body += line
                }
            } else if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----"), line.count > 16 {
                open = String(line.dropFirst(11).dropLast(5))
            } else if !line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                return nil
            }
        }
        guard open == nil, !labels.isEmpty else { return nil }
        self.labels = labels
    }

    private static func isBase64(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "+/=".contains(character))
    }
}

/// What a kubeconfig data field must hold.
enum PEMKind: Sendable {
    /// One or more certificates: a CA bundle, or a client certificate with its chain (k3s writes both).
    case certificates
    /// Exactly one unencrypted private key, in any of the forms OpenSSL writes.
    case privateKey

    func accepts(_ blocks: PEMBlocks) -> Bool {
        switch self {
        case .certificates: blocks.labels.allSatisfy { $0 == "CERTIFICATE" }
        case .privateKey: blocks.labels.count == 1 && ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"].contains(blocks.labels[0])
        }
    }

    /// For errors: what the field should have been.
    var expected: String {
        switch self {
        case .certificates: "base64 of PEM CERTIFICATE blocks"
        case .privateKey: "base64 of one PEM PRIVATE KEY block"
        }
    }
}
