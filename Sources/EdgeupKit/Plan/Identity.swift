/// A store or host as plans and execution key it: by its inventory name, typed by what it names
/// so a store name cannot be mixed up with a host name. Encoded as the bare name (the plan's JSON
/// shape is unchanged by the typing).
public struct Identifier<Named>: Sendable, Hashable, Comparable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var name: String

    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }
    public init(from decoder: Decoder) throws { name = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public var description: String { name }
    public static func < (a: Self, b: Self) -> Bool { a.name < b.name }
}

public typealias StoreID = Identifier<Store>
/// A host within its store.
public typealias HostID = Identifier<Host>

extension Store {
    public var id: StoreID { StoreID(name) }
}

extension Host {
    public var id: HostID { HostID(name) }
}

/// Facts of every host of every store, as gathered.
public typealias FleetObservations = [StoreID: [HostID: HostObservation]]
