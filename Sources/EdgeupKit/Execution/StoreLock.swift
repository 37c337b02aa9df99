import EdgeSSH
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
    static let path = "/var/lib/edgeup/store.lock"

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

    /// Takes or renews the lock; throws when another run holds a live one.
    func acquire() async throws -> Outcome {
        let result = try await first.runPrivileged(
            script: Self.acquireScript, [Self.path, run, String(lease.components.seconds), owner], step: "lock",
            timeout: .seconds(30))
        let said = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        switch (result.exitStatus, said) {
        case (0, "taken"): return .taken
        case (0, "renewed"): return .renewed
        case (0, let text) where text.hasPrefix("stale "): return .tookOver(previous: String(text.dropFirst(6)).shownAsUntrusted)
        case (4, let text):
            let parts = text.split(separator: " ", maxSplits: 3).map(String.init)
            let holder = parts.count > 1 ? parts[1] : "?"
            let until = parts.count > 2 ? Double(parts[2]).map { Date(timeIntervalSince1970: $0) } : nil
            let who = parts.count > 3 ? parts[3] : "an unknown owner"
            throw ProvisioningError(
                host: first.label, step: "lock",
                "the store is locked by run \(holder.shownAsUntrusted) (\(who.shownAsUntrusted))"
                    + (until.map { ", its lease ends \(ISO8601DateFormatter().string(from: $0))" } ?? ""),
                lastSeen: "another edgeup is converging this store; wait for it (a dead run's lock expires with its lease)")
        default:
            throw ProvisioningError(
                host: first.label, step: "lock", "cannot take the store lock \(Self.path): \(HostOperator.tail(result.stderrText, lines: 2))")
        }
    }

    /// Removes the lock if this run still holds it.
    func release() async {
        _ = try? await first.runPrivileged(script: Self.releaseScript, [Self.path, run], step: "lock", timeout: .seconds(30))
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

    /// $1 lock file, $2 run, $3 lease seconds, $4 owner. Prints taken | renewed | stale UNTIL OWNER,
    /// or `held RUN UNTIL OWNER` with exit 4.
    static let acquireScript: StaticString = #"""
        set -e
        lock=$1 run=$2 lease=$3 owner=$4
        mkdir -p "$(dirname "$lock")"
        exec 9>>"$lock.mutex"
        if command -v flock >/dev/null 2>&1; then flock -w 20 9; fi
        now=$(date +%s)
        line="$run $((now + lease)) $owner"
        if [ ! -s "$lock" ]; then printf '%s\n' "$line" > "$lock.$run"; mv -f "$lock.$run" "$lock"; echo taken; exit 0; fi
        read -r held until who < "$lock" || true
        if [ "$held" = "$run" ]; then printf '%s\n' "$line" > "$lock.$run"; mv -f "$lock.$run" "$lock"; echo renewed; exit 0; fi
        case "$until" in ''|*[!0-9]*) until=0 ;; esac
        if [ "$until" -ge "$now" ]; then echo "held $held $until $who"; exit 4; fi
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

    /// Who runs this edgeup, for a lock's owner field: `user@machine pid N`, reduced to safe characters.
    static var localOwner: String {
        var name = [CChar](repeating: 0, count: 256)
        let machine = gethostname(&name, name.count) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        let user = ProcessInfo.processInfo.environment["USER"] ?? "?"
        let text = "\(user)@\(machine) pid \(getpid())"
        return String(text.unicodeScalars.filter { $0.isASCII && $0.value > 0x20 || $0 == " " }.map(Character.init))
    }
}
