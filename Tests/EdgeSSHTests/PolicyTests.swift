import EdgeSSH
import Testing

/// The inventory and CLI spell policies and transports exactly like OpenSSH users expect.
@Test func policyAndTransportSpellings() {
    #expect(HostKeyPolicy(rawValue: "accept-new") == .acceptNew)
    #expect(HostKeyPolicy(rawValue: "strict") == .strict)
    #expect(HostKeyPolicy(rawValue: "ignore") == nil, "turning checks off must be spelt out as insecure-ignore")
    #expect(SSHTransportKind(rawValue: "openssh") == .openssh)
}
