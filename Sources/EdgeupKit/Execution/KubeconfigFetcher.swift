
/// Reads a store's k3s.yaml from its first server (root-only, so through sudo) and turns it into
/// the store's named, server-rewritten kubeconfig entries.
public struct KubeconfigFetcher: Sendable {
    public var session: FleetSession

    public init(session: FleetSession) {
        self.session = session
    }

    /// `proxy`: where a store behind gateways is reached (`StoreRoute.needsProxy`); nil:
    /// `EDGEUP_PROXY`, else the standard address.
    public func fetch(_ store: Store, fleet: String, proxy: ProxyAddress? = nil) async throws(ProvisioningError) -> StoreKubeconfig {
        guard let server = store.firstServer else {
            throw ProvisioningError(host: store.name, step: .action(.fetchKubeconfig), "the store has no server")
        }
        let label = "\(store.name)/\(server.name)"
        let path = Distributions.distribution(for: store).files.kubeconfig
        let text: String
        do {
            let remote = try await session.connection(to: server, in: store)
            let sudo = try session.access.sudo(for: server, in: store)
            let data = try await remote.download(path, sudo: sudo, maxBytes: 1 << 20)
            text = String(decoding: data, as: UTF8.self)
        } catch {
            throw ProvisioningError(error, on: label, step: .action(.fetchKubeconfig))
        }
        let configured: ProxyAddress
        if let proxy {
            configured = proxy
        } else {
            do {
                configured = try ProxyAddress.configured(in: session.access.environment)
            } catch {
                throw ProvisioningError(host: label, step: .action(.fetchKubeconfig), error.description)
            }
        }
        do {
            return try StoreKubeconfig(fetched: text, source: "\(label):\(path)", store: store, fleet: fleet, proxy: configured)
        } catch {
            throw ProvisioningError(host: label, step: .action(.fetchKubeconfig), error.description)
        }
    }
}

extension KubeconfigDestination {
    /// Writes the stores' entries where this destination says; one locked write for all of them.
    /// Returns the stores skipped because an entry of their name is not this fleet's.
    @discardableResult
    public func write(_ entries: [StoreKubeconfig], prune: KubeconfigPrune? = nil) async throws(KubeconfigError)
        -> [KubeconfigSkip]
    {
        switch self {
        case let .merge(file, _, setCurrent):
            return try await file.merge(entries, setCurrent: setCurrent ? entries.last?.context : nil, prune: prune).skipped
        case let .separateFiles(directory, _):
            _ = try await KubeconfigFile.writeSeparately(entries, to: directory)
            return []
        case .none:
            return []
        }
    }

    public var fleet: String? {
        switch self {
        case let .merge(_, fleet, _), let .separateFiles(_, fleet): fleet
        case .none: nil
        }
    }
}
