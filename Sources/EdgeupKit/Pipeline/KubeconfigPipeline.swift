/// Reads each store's k3s.yaml from its first server and prints or merges them; touches no cluster.
/// Sends `.warnings` once the hosts were reached. Throws `KubeconfigWriteError` when writing fails,
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
        result.standalone = try KubeconfigMerger.standalone(result.entries)
    case let .write(destination, prune):
        let prune = prune ? KubeconfigPrune(fleet: fleet, keep: Set(options.inventory.stores.map(\.context))) : nil
        do {
            result.skipped = try await destination.write(result.entries, prune: prune)
        } catch {
            throw KubeconfigWriteError(error)
        }
        result.target = destination.target
    }
    return result
}

extension KubeconfigDestination {
    /// The file merged into, or the folder of separate files; nil when kubeconfigs go nowhere.
    public var target: String? {
        switch self {
        case let .merge(file, _, _): file.path
        case let .separateFiles(directory, _): directory
        case .none: nil
        }
    }
}
