import Foundation

/// Reads each store's k3s.yaml from its first server and prints or merges them; touches no cluster.
/// Then checks the client certificates of the selected stores' contexts in what was printed or
/// written (`clientCertificateWarnings`). Sends `.warnings` once the hosts were reached. Throws `KubeconfigWriteError` when writing fails,
/// or the `KubeconfigError` making the standalone text.
public func runKubeconfig(_ options: KubeconfigFetchOptions, events: @escaping PipelineEvents) async throws
    -> KubeconfigFetchResult
{
    let hosts = options.stores.compactMap { store in store.firstServer.map { StoreHost(store: store, host: $0) } }
    let session = FleetSession(inventory: options.inventory, hosts: hosts, connection: options.connection)
    let (fetcher, fleet) = (KubeconfigFetcher(session: session), options.fleet)
    let results = await fanOut(options.stores, limit: options.concurrency) {
        store -> Result<StoreKubeconfig, ProvisioningError> in
        do throws(ProvisioningError) {
            return .success(try await fetcher.fetch(store, fleet: fleet))
        } catch {
            return .failure(error)
        }
    }
    await session.close()
    events(.warnings(session.client.warnings))
    var result = KubeconfigFetchResult(
        entries: results.compactMap { try? $0.get() },
        failures: results.compactMap { result in
            if case let .failure(error) = result { return error }
            return nil
        },
        skipped: [])
    switch options.output {
    case .print:
        let standalone = try KubeconfigMerger.standalone(result.entries)
        result.standalone = standalone
        result.clientCertificateWarnings = ClientCertificateWarning.check(
            standalone, path: "<stdout>", stores: options.stores, fleet: fleet, now: Date())
    case let .write(destination, prune):
        let prune = prune ? KubeconfigPrune(fleet: fleet, keep: Set(options.inventory.stores.map(\.context))) : nil
        do {
            result.skipped = try await destination.write(result.entries, prune: prune)
        } catch {
            throw KubeconfigWriteError(error)
        }
        result.target = destination.target
        result.clientCertificateWarnings = destination.clientCertificateWarnings(stores: options.stores)
    }
    return result
}

extension KubeconfigDestination {
    /// The file merged into, or the folder of separate files; nil when kubeconfigs go nowhere.
    /// The client certificates of `stores` that expire within `ClientCertificateWarning.noticeDays`
    /// of `now`, in what this destination holds: the merged file, or each store's `--no-merge`
    /// file. Files that are missing or cannot be read give none; nothing is written.
    public func clientCertificateWarnings(stores: [Store], now: Date = Date()) -> [ClientCertificateWarning] {
        switch self {
        case let .merge(file, fleet, _):
            guard let text = try? file.read() else { return [] }
            return ClientCertificateWarning.check(text, path: file.path, stores: stores, fleet: fleet, now: now)
        case let .separateFiles(directory, fleet):
            // Only a DNS-subdomain context names a file inside `directory` (as when writing).
            return ClientCertificateWarning.soonestFirst(
                stores.filter { StoreKubeconfig.contextNameProblem($0.context) == nil }.flatMap { store in
                    let file = KubeconfigFile(path: directory + "/" + store.context + ".yaml")
                    guard let text = try? file.read() else { return [ClientCertificateWarning]() }
                    return ClientCertificateWarning.check(text, path: file.path, stores: [store], fleet: fleet, now: now)
                })
        case .none:
            return []
        }
    }

    public var target: String? {
        switch self {
        case let .merge(file, _, _): file.path
        case let .separateFiles(directory, _): directory
        case .none: nil
        }
    }
}
