/// The naming and address rules Kubernetes, DNS and IP impose on inventory values. Each check returns
/// nil when fine, or a sentence saying what is wrong.
enum Syntax {
    /// RFC 1123 label: what k3s node names, store names and kubeconfig names must be.
    static func dnsLabelProblem(_ value: String) -> String? {
        if value.isEmpty { return "is empty" }
        if value.utf8.count > 63 { return "is longer than 63 characters" }
        let allowed = value.unicodeScalars.allSatisfy { isLowerAlnum($0) || $0 == "-" }
        if !allowed { return "may contain only lowercase letters, digits and '-'" }
        if value.hasPrefix("-") || value.hasSuffix("-") { return "must start and end with a letter or digit" }
        return nil
    }

    /// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
    static func dnsSubdomainProblem(_ value: String) -> String? {
        if value.isEmpty { return "is empty" }
        if value.utf8.count > 253 { return "is longer than 253 characters" }
        for label in value.split(separator: ".", omittingEmptySubsequences: false) {
            if let problem = dnsLabelProblem(String(label)) { return "has a part that \(problem)" }
        }
        return nil
    }

    /// A label key: `[prefix/]name` (kubernetes.io/… style).
    static func labelKeyProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return qualifiedNameProblem(key).map { "label key '\(key)' \($0)" }
        case 2:
            if let problem = dnsSubdomainProblem(String(parts[0])) {
                return "label key prefix '\(parts[0])' \(problem)"
            }
            return qualifiedNameProblem(String(parts[1])).map { "label key name '\(parts[1])' \($0)" }
        default:
            return "label key '\(key)' may contain at most one '/'"
        }
    }

    /// A label value: empty, or up to 63 of [A-Za-z0-9-_.] starting and ending alphanumeric.
    static func labelValueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        return qualifiedNameProblem(value).map { "label value '\(value)' \($0)" }
    }

    private static func qualifiedNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 63 { return "is longer than 63 characters" }
        let scalars = Array(name.unicodeScalars)
        if !scalars.allSatisfy({ isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }) {
            return "may contain only letters, digits, '-', '_' and '.'"
        }
        if !isAlnum(scalars.first!) || !isAlnum(scalars.last!) {
            return "must start and end with a letter or digit"
        }
        return nil
    }

    /// `key[=value]:Effect`, as `kubectl taint` and k3s `node-taint` take it.
    static func parseTaint(_ text: String) -> Result<Taint, TaintError> {
        guard let colon = text.lastIndex(of: ":") else {
            return .failure(TaintError("taint '\(text)' has no effect; write key=value:NoSchedule"))
        }
        let effectText = String(text[text.index(after: colon)...])
        guard let effect = Taint.Effect(rawValue: effectText) else {
            let known = Taint.Effect.allCases.map(\.rawValue)
            let suggestion = Suggestions.didYouMean(effectText, in: known).map { " (\($0))" } ?? ""
            return .failure(TaintError(
                "taint '\(text)' has an unknown effect '\(effectText)'\(suggestion); use one of \(known.joined(separator: ", "))"))
        }
        let keyValue = text[..<colon]
        let key: String
        let value: String?
        if let equals = keyValue.firstIndex(of: "=") {
            key = String(keyValue[..<equals])
            value = String(keyValue[keyValue.index(after: equals)...])
        } else {
            key = String(keyValue)
            value = nil
        }
        if let problem = labelKeyProblem(key) {
            return .failure(TaintError("taint '\(text)': \(problem.replacingOccurrences(of: "label key", with: "key"))"))
        }
        if let value, let problem = labelValueProblem(value) {
            return .failure(TaintError("taint '\(text)': \(problem.replacingOccurrences(of: "label value", with: "value"))"))
        }
        return .success(Taint(key: key, value: value, effect: effect))
    }

    struct TaintError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// An address SSH can connect to: an IPv4/IPv6 host address or a DNS name. Networks, ports, URLs,
    /// and addresses no single host can own are refused.
    static func hostAddressProblem(_ address: String) -> String? {
        if address.isEmpty { return "is empty" }
        if address.contains("/") {
            return address.contains("://") ? "is a URL, not an address" : "is a network (CIDR), not a host address"
        }
        if address.contains(where: { $0.isWhitespace }) { return "contains spaces" }
        if let octets = ipv4Octets(address) {
            if octets == [0, 0, 0, 0] { return "is the unspecified address 0.0.0.0" }
            if octets == [255, 255, 255, 255] { return "is the broadcast address" }
            if octets[0] >= 224 && octets[0] <= 239 { return "is a multicast address" }
            if octets[0] >= 240 { return "is a reserved address" }
            if octets[0] == 0 { return "is in 0.0.0.0/8, which no host can use" }
            return nil
        }
        if address.contains(":") {
            let body = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
            if isIPv6(body) {
                if body == "::" { return "is the unspecified address ::" }
                if body.lowercased().hasPrefix("ff") { return "is a multicast address" }
                return nil
            }
            if address.split(separator: ":").count == 2 {
                return "looks like host:port; put the port in ssh.port"
            }
            return "is not a valid IPv6 address"
        }
        if address.allSatisfy({ $0.isNumber || $0 == "." }) { return "is not a valid IPv4 address" }
        if let problem = dnsSubdomainProblem(address.lowercased()) { return "is not a valid host name: it \(problem)" }
        return nil
    }

    static func ipv4Octets(_ text: String) -> [Int]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                let value = Int(part), value <= 255
            else { return nil }
            octets.append(value)
        }
        return octets
    }

    static func isIPv6(_ text: String) -> Bool {
        let lowered = text.lowercased()
        guard !lowered.isEmpty, lowered.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
        let doubleColons = lowered.components(separatedBy: "::").count - 1
        guard doubleColons <= 1 else { return false }
        var groups = lowered.split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        var groupLimit = 8
        if let last = groups.last, last.contains(".") {
            guard ipv4Octets(last) != nil else { return false }
            groups.removeLast()
            groupLimit = 6
        }
        guard groups.allSatisfy({ $0.count <= 4 && !$0.contains(".") }) else { return false }
        return doubleColons == 1 ? groups.count < groupLimit : groups.count == groupLimit
    }

    /// k3s version strings look like v1.31.4+k3s1.
    static func k3sVersionProblem(_ version: String) -> String? {
        let pattern = version.split(separator: "+", maxSplits: 1)
        let core = pattern.first.map(String.init) ?? ""
        guard core.hasPrefix("v") else { return "must start with 'v', like v1.31.4+k3s1" }
        let numbers = core.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3, numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            return "must look like v1.31.4+k3s1"
        }
        if pattern.count == 2, !pattern[1].hasPrefix("k3s") { return "must end in +k3sN, like v1.31.4+k3s1" }
        return nil
    }

    /// An environment variable name (for passphraseEnv / sudoPasswordEnv).
    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isAlpha(first) || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { isAlnum($0) || $0 == "_" }
    }

    private static func isLowerAlnum(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || isDigit(s) }
    private static func isAlpha(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("A"..."Z").contains(s) }
    private static func isDigit(_ s: Unicode.Scalar) -> Bool { ("0"..."9").contains(s) }
    private static func isAlnum(_ s: Unicode.Scalar) -> Bool { isAlpha(s) || isDigit(s) }
}
