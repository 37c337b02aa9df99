import ArgumentParser
import EdgeupKit

/// How fast uploads may go, for the commands that carry artifacts to hosts.
struct UploadOptions: ParsableArguments {
    @Option(name: .customLong("upload-rate"), help: ArgumentHelp(
        "Bytes per second all uploads together may send, e.g. 2M (k, M, G: powers of 1000). Default: no cap.", valueName: "rate"))
    var uploadRate: String?

    @Option(name: .customLong("upload-rate-per-store"), help: ArgumentHelp(
        "Bytes per second the uploads to one store may send (its WAN link), e.g. 500k.", valueName: "rate"))
    var uploadRatePerStore: String?

    func validate() throws {
        for (flag, value) in [("--upload-rate", uploadRate), ("--upload-rate-per-store", uploadRatePerStore)] {
            if let value, TransferRate(parsing: value) == nil {
                throw ValidationError("invalid \(flag) '\(value)': a positive number of bytes per second, with k, M or G, e.g. 2M")
            }
        }
    }

    /// `connection` with these caps.
    func applied(to connection: ConnectionOptions) -> ConnectionOptions {
        var connection = connection
        connection.uploadRate = uploadRate.flatMap(TransferRate.init(parsing:))?.bytesPerSecond
        connection.uploadRatePerStore = uploadRatePerStore.flatMap(TransferRate.init(parsing:))?.bytesPerSecond
        return connection
    }
}
