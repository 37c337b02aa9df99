import Foundation

/// One edgeup run at a time per store: two overlapping applies (a laptop and CI) could otherwise
/// restart two etcd servers of one store at once and lose its quorum.
///
/// The lock is a file on the store's first server, `RUN EXPIRES OWNER`, taken with a lease on that
/// server's clock (so the operator's clock never matters), renewed while the run works on the
/// store and removed when it is done. A run killed without releasing it blocks the store only until
/// the lease ends; the next run then takes the lock over and reports whose it was. The check and the
/// write happen under `flock` where the host has it, so two runs cannot both take one stale lock.
struct StoreLock: Sendable {
    static let path = EdgeupHostFolder.path + "/store.lock"

    let first: HostOperator
    let run: String
    let owner: String
    var lease: Duration = .seconds(300)

    enum Outcome: Equatable {
        case taken
        case renewed
        /// An expired lock of another run was taken over: `previous` says whose (its own words).
        case tookOver(previous: String)
    }

    /// Takes or renews the lock; throws when another run holds a live one. A lock left by an edgeup
    /// of this machine whose process is gone (killed) is taken over at once: waiting out its lease
    /// would keep the next run from converging the store.
    func acquire() async throws -> Outcome {
        switch try await attempt(replacing: nil) {
        case let .done(outcome): return outcome
        case let .held(holder, until, who):
            if Self.isDeadLocalRun(owner: who), case let .done(outcome) = try await attempt(replacing: holder) {
                return outcome
            }
            throw ProvisioningError(
                host: first.label, step: .lock,
                "the store is locked by run \(holder.shownAsUntrusted) (\(who.shownAsUntrusted))"
                    + (until.map { ", its lease ends \(ISO8601DateFormatter().string(from: $0))" } ?? ""),
                lastSeen: "another edgeup is converging this store; wait for it (a dead run's lock expires with its lease)")
        }
    }

    private enum Attempt {
        case done(Outcome)
        case held(run: String, until: Date?, owner: String)
    }

    private func attempt(replacing stale: String?) async throws -> Attempt {
        let result = try await first.runPrivileged(
            script: Self.acquireScript, [Self.path, run, String(lease.components.seconds), owner, stale ?? ""], step: .lock,
            timeout: .seconds(30))
        let said = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        switch (result.exitStatus, said) {
        case (0, "taken"): return .done(.taken)
        case (0, "renewed"): return .done(.renewed)
        case (0, let text) where text.hasPrefix("stale "):
            return .done(.tookOver(previous: String(text.dropFirst(6)).shownAsUntrusted))
        case (4, let text):
            let parts = text.split(separator: " ", maxSplits: 3).map(String.init)
            return .held(
                run: parts.count > 1 ? parts[1] : "?",
                until: parts.count > 2 ? Double(parts[2]).map { Date(timeIntervalSince1970: $0) } : nil,
                owner: parts.count > 3 ? parts[3] : "an unknown owner")
        default:
            throw ProvisioningError(
                host: first.label, step: .lock, "cannot take the store lock \(Self.path): \(HostOperator.tail(result.stderrText, lines: 2))")
        }
    }

    /// Whether `owner` (`user@machine pid N`) names this machine and a process that is gone.
    static func isDeadLocalRun(owner: String) -> Bool {
        let parts = owner.split(separator: " ")
        guard parts.count == 3, parts[1] == "pid", let pid = Int32(parts[2]), pid > 0,
            parts[0].split(separator: "@").last.map(String.init) == localMachine
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the lock if this run still holds it.
    func release() async {
        _ = try? await first.runPrivileged(script: Self.releaseScript, [Self.path, run], step: .lock, timeout: .seconds(30))
    }

    /// Renews the lease until cancelled.
    func keepAlive() -> Task<Void, Never> {
        let interval = lease / 4
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                _ = try? await acquire()
            }
        }
    }

    /// $1 lock file, $2 run, $3 lease seconds, $4 owner, $5 a run whose lock may be replaced even
    /// before its lease ends (or empty). Prints taken | renewed | stale …, or `held RUN UNTIL OWNER`
    /// with exit 4.
    static let acquireScript: StaticString = #"""
        set -e
        lock=$1 run=$2 lease=$3 owner=$4 replace=$5
        mkdir -p "$(dirname "$lock")"
        exec 9>>"$lock.mutex"
        if command -v flock >/dev/null 2>&1; then flock -w 20 9; fi
        now=$(date +%s)
        line="$run $((now + lease)) $owner"
        if [ ! -s "$lock" ]; then printf '%s\n' "$line" > "$lock.$run"; mv -f "$lock.$run" "$lock"; echo taken; exit 0; fi
        read -r held until who < "$lock" || true
        if [ "$held" = "$run" ]; then printf '%s\n' "$line" > "$lock.$run"; mv -f "$lock.$run" "$lock"; echo renewed; exit 0; fi
        case "$until" in ''|*[!0-9]*) until=0 ;; esac
        if [ "$until" -ge "$now" ] && { [ -z "$replace" ] || [ "$held" != "$replace" ]; }; then echo "held $held $until $who"; exit 4; fi
        printf '%s\n' "$line" > "$lock.$run"; mv -f "$lock.$run" "$lock"
        echo "stale run $held ($who), lease ended at $until"
        """#

    /// $1 lock file, $2 run.
    static let releaseScript: StaticString = #"""
        lock=$1 run=$2
        exec 9>>"$lock.mutex"
        if command -v flock >/dev/null 2>&1; then flock -w 20 9; fi
        read -r held rest < "$lock" 2>/dev/null || exit 0
        if [ "$held" = "$run" ]; then rm -f "$lock"; fi
        """#

    /// This machine's name, as lock owners give it.
    static var localMachine: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count) == 0 else { return "?" }
        return safe(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Who runs this edgeup, for a lock's owner field: `user@machine pid N`.
    static var localOwner: String {
        "\(safe(ProcessInfo.processInfo.environment["USER"] ?? "?"))@\(localMachine) pid \(getpid())"
    }

    /// One word of printable ASCII without '@', so the owner field splits back unambiguously.
    private static func safe(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.isASCII && $0.value > 0x20 && $0 != "@" && $0.value != 0x7f }.map(Character.init))
    }
}
