import Foundation

/// Byte counts as people read them: `812 B`, `5.8 kB`, `212.4 MB`, `1.2 GB` (powers of 1024).
enum ByteText {
    static func size(_ bytes: Int) -> String {
        switch bytes {
        case ..<1024: "\(bytes) B"
        case ..<(1 << 20): String(format: "%.1f kB", Double(bytes) / 1024)
        case ..<(1 << 30): String(format: "%.1f MB", Double(bytes) / 1048576)
        default: String(format: "%.1f GB", Double(bytes) / 1073741824)
        }
    }
}
