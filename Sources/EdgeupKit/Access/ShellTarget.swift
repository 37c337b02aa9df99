import EdgeCore

/// `STORE[/HOST]`: the host `edgeup ssh` logs in to; without HOST, the store's first server.
public struct ShellTarget: Sendable, Hashable {
    public var store: String
    public var host: String?

    public init(store: String, host: String? = nil) {
        self.store = store
        self.host = host
    }

    public init(parsing text: String) throws(ShellTargetError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { throw .malformed(text) }
        self.init(store: parts[0], host: parts.count == 2 ? parts[1] : nil)
    }

    /// The store and host; hosts marked `remove: true` count too (they are still machines one
    /// may need to look at).
    public func resolve(in inventory: Inventory) throws(ShellTargetError) -> StoreHost {
        guard let found = inventory.store(named: store) else {
            throw .unknownStore(store, suggestion: Suggestions.closest(to: store, in: inventory.stores.map(\.name)))
        }
        let hosts = found.hosts + found.removing
        guard let host else {
            // Validation gives every store a server; an inventory built in code may not.
            guard let first = found.firstServer else { throw .noServer(store: store) }
            return StoreHost(store: found, host: first)
        }
        guard let match = hosts.first(where: { $0.name == host }) else {
            let names = hosts.map(\.name)
            throw .unknownHost(store: store, host: host, hosts: names, suggestion: Suggestions.closest(to: host, in: names))
        }
        return StoreHost(store: found, host: match)
    }
}

public enum ShellTargetError: PipelineError, Equatable {
    case malformed(String)
    case unknownStore(String, suggestion: String?)
    case unknownHost(store: String, host: String, hosts: [String], suggestion: String?)
    case noServer(store: String)

    /// ssh's status for "could not run it", apart from any status the remote command returns.
    public var exitCode: Int32 { 255 }

    public var description: String {
        switch self {
        case let .malformed(text):
            return "'\(text)' is not STORE or STORE/HOST"
        case let .unknownStore(name, suggestion):
            return "no store '\(name)' in the inventory" + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
        case let .unknownHost(store, host, hosts, suggestion):
            return "store \(store) has no host '\(host)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
                + "; its hosts: " + hosts.joined(separator: ", ")
        case let .noServer(store):
            return "store \(store) has no server to default to; give the host as \(store)/HOST"
        }
    }
}

/// The words of `edgeup ssh`: inventory files, the target and the command after `--`.
public struct ShellInvocation: Sendable, Equatable {
    public var files: [String]
    public var target: ShellTarget
    /// Empty: the login shell.
    public var command: [String]

    /// `words` are the positional words, the last `commandWordCount` of them written after `--`.
    /// Without inventory files before the target, `$EDGEUP_INVENTORY` (paths separated by `:`) names them.
    public init(words: [String], commandWordCount: Int, environment: [String: String]) throws(ShellUsageError) {
        let before = Array(words.dropLast(commandWordCount))
        guard let last = before.last else {
            throw ShellUsageError("give the target STORE or STORE/HOST, e.g. edgeup ssh inventory.yaml store-042/pi-042")
        }
        do throws(ShellTargetError) {
            target = try ShellTarget(parsing: last)
        } catch {
            throw ShellUsageError(error.description)
        }
        files = inventoryFiles(before: before, environment: environment)
        guard !files.isEmpty else {
            throw ShellUsageError("give the inventory files before \(last), or set EDGEUP_INVENTORY (paths separated by ':')")
        }
        command = Array(words.suffix(commandWordCount))
    }

    /// The remote command line: one word is a command line as written (`-- 'df -h; uptime'`);
    /// several are the program and its arguments, each word quoted (`-- sh -c 'exit 7'` runs
    /// exactly that, where ssh would join the words into `sh -c exit 7`). nil: the login shell.
    public var commandLine: String? {
        guard !command.isEmpty else { return nil }
        return command.count == 1 ? command[0] : ShellQuote.command(command)
    }
}

public struct ShellUsageError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `-t` / `-T`, as OpenSSH has them.
public enum TerminalChoice: Sendable, Hashable {
    /// A pseudo-terminal for the login shell when stdin is a terminal; none for a command.
    case automatic
    /// `-t`: a pseudo-terminal even for a command (full-screen programs, `sudo` asking).
    case forced
    /// `-T`: never one.
    case disabled

    public func wantsTerminal(command: Bool, stdinIsTerminal: Bool) -> Bool {
        switch self {
        case .automatic: !command && stdinIsTerminal
        case .forced: true
        case .disabled: false
        }
    }
}

/// The inventory files of a command whose last word before `--` is its target (`edgeup ssh`,
/// `edgeup kubectl`): the words before the target, else `$EDGEUP_INVENTORY` (paths separated by
/// `:`); empty when neither names any.
public func inventoryFiles(before target: [String], environment: [String: String]) -> [String] {
    let files = Array(target.dropLast())
    return files.isEmpty ? (environment["EDGEUP_INVENTORY"] ?? "").split(separator: ":").map(String.init) : files
}
