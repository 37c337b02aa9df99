import EdgeSSH

extension SSHError {
    /// The message and hint, without the hop and step that callers already show.
    var detail: String { message + (hint.map { " — hint: \($0)" } ?? "") }

    /// The error as seen from `label`'s line: the hop is named only when it is another machine
    /// (a gateway on the way).
    func description(from label: String) -> String {
        hop == label ? "\(step.rawValue): \(detail)" : description
    }
}

extension ProvisioningError {
    /// An SSH failure while working on `label`, attributed to the hop that failed.
    init(_ error: SSHError, on label: String, step: ProvisioningStep) {
        self.init(host: label, step: step, error.description(from: label))
    }
}
