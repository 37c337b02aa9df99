/// A rate as the operator writes it: `500k`, `2M`, `1.5G` bytes per second (powers of 1000, as
/// link speeds are quoted), or a plain number of bytes.
public struct TransferRate: Sendable, Hashable {
    public var bytesPerSecond: Int

    public init?(parsing text: String) {
        let multipliers: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9]
        var number = Substring(text)
        var factor = 1.0
        if let last = number.last, let multiplier = multipliers[last] {
            factor = multiplier
            number = number.dropLast()
        }
        guard let value = Double(number), value > 0, value.isFinite, value * factor >= 1 else { return nil }
        bytesPerSecond = Int(value * factor)
    }
}
