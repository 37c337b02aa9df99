import Foundation

/// Byte counts as people read them, in powers of 1000 as link speeds and `--upload-rate` are
/// quoted: `812 B`, `5.8 kB`, `212.4 MB`, `1.2 GB`.
enum ByteText {
    static func size(_ bytes: Int) -> String {
        switch bytes {
        case ..<1000: "\(bytes) B"
        case ..<1_000_000: String(format: "%.1f kB", Double(bytes) / 1e3)
        case ..<1_000_000_000: String(format: "%.1f MB", Double(bytes) / 1e6)
        default: String(format: "%.1f GB", Double(bytes) / 1e9)
        }
    }
}
