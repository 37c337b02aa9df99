extension PlanProblem {
    /// Why a host blocks its store, as a value: `message` is for people and may change wording.
    /// In the plan JSON as `kind` (docs/PLAN-SCHEMA.md).
    public enum Kind: String, Sendable, Hashable, Codable {
        /// The host could not be reached or probed (connect, login, the facts probe).
        case unreachable
        /// No facts came back for the host at all.
        case noFacts = "no-facts"
        /// A check on the host's facts or on the inventory failed (preflight, desired state, identity).
        case check
    }

    enum CodingKeys: String, CodingKey {
        case host, message, hint, kind
    }

    /// Plans saved before `kind` existed have none: their problems read as `check`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            host: try container.decodeIfPresent(HostID.self, forKey: .host),
            message: try container.decode(String.self, forKey: .message),
            hint: try container.decodeIfPresent(String.self, forKey: .hint),
            kind: try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .check)
    }
}
