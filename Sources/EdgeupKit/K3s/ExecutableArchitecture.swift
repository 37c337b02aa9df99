import Foundation

/// Reads the CPU architecture of a local executable from its ELF header, so a wrong-arch binary is
/// refused before it is uploaded to a thousand hosts.
public enum ExecutableArchitecture {
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case notELF(String)
        case unsupportedMachine(String, UInt16)

        public var description: String {
            switch self {
            case let .unreadable(path): "cannot read \(path)"
            case let .notELF(path): "\(path) is not a Linux executable (no ELF header)"
            case let .unsupportedMachine(path, machine):
                "\(path) is built for an architecture k3s does not ship (ELF machine \(machine))"
            }
        }
    }

    public static func of(file path: String) throws(Problem) -> Architecture {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path) }
        defer { try? handle.close() }
        let header = handle.readData(ofLength: 20)
        return try of(header: [UInt8](header), path: path)
    }

    static func of(header: [UInt8], path: String) throws(Problem) -> Architecture {
        guard header.count >= 20, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            throw .notELF(path)
        }
        let littleEndian = header[5] == 1
        let machine = littleEndian
            ? UInt16(header[18]) | UInt16(header[19]) << 8
            : UInt16(header[19]) | UInt16(header[18]) << 8
        switch machine {
        case 0x3E: return .amd64
        case 0xB7: return .arm64
        case 0x28: return .arm
        default: throw .unsupportedMachine(path, machine)
        }
    }

    /// `uname -m` as k3s names architectures.
    public static func fromUname(_ machine: String) -> Architecture? {
        switch machine.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "x86_64", "amd64": .amd64
        case "aarch64", "arm64": .arm64
        case "armv7l", "armv7", "armhf", "arm": .arm
        default: nil
        }
    }
}
