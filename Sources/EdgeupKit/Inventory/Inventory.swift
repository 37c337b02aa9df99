/// The whole fleet, loaded from one or more inventory files and resolved.
public struct Inventory: Sendable, Hashable, Codable {
    public var files: [String]
    public var gateways: [Gateway]
    public var stores: [Store]

    public init(files: [String], gateways: [Gateway], stores: [Store]) {
        self.files = files
        self.gateways = gateways
        self.stores = stores
    }

    public func gateway(named name: String) -> Gateway? {
        gateways.first { $0.name == name }
    }

    public func store(named name: String) -> Store? {
        stores.first { $0.name == name }
    }
}
