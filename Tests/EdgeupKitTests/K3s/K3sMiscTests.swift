@testable import EdgeupKit
import Testing

@Suite struct K3sMiscTests {
    @Test func versions() {
        let old = K3sVersion("v1.30.4+k3s1")!
        let new = K3sVersion("v1.31.4+k3s1")!
        #expect(old < new)
        #expect(K3sVersion("v1.31.4+k3s1")! < K3sVersion("v1.31.4+k3s2")!)
        #expect(old.canUpgrade(to: new))
        #expect(!old.canUpgrade(to: K3sVersion("v1.32.0+k3s1")!))
        #expect(K3sVersion(versionOutput: "k3s version v1.31.4+k3s1 (a1b2c3d4)\ngo version go1.22.9") == new)
        #expect(K3sVersion("1.31.4") == nil)
    }

    @Test func elfArchitectures() throws {
        func header(_ machine: UInt16) -> [UInt8] {
            var bytes: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1] + [UInt8](repeating: 0, count: 14)
            bytes[18] = UInt8(machine & 0xFF)
            bytes[19] = UInt8(machine >> 8)
            return bytes
        }
        #expect(try ExecutableArchitecture.of(header: header(0x3E), path: "k3s") == .amd64)
        #expect(try ExecutableArchitecture.of(header: header(0xB7), path: "k3s") == .arm64)
        #expect(try ExecutableArchitecture.of(header: header(0x28), path: "k3s") == .arm)
        #expect(throws: ExecutableArchitecture.Problem.unsupportedMachine("k3s", 8)) {
            try ExecutableArchitecture.of(header: header(8), path: "k3s")
        }
        #expect(throws: ExecutableArchitecture.Problem.notELF("k3s.sh")) {
            try ExecutableArchitecture.of(header: Array("#!/bin/sh\necho hi\n\n\n".utf8), path: "k3s.sh")
        }
        #expect(try ExecutableArchitecture.of(file: "/bin/sh") == .amd64)
        #expect(ExecutableArchitecture.fromUname("armv7l\n") == .arm)
        #expect(ExecutableArchitecture.fromUname("riscv64") == nil)
    }

    @Test func serviceFiles() {
        let server = ServiceFiles(role: .server, initSystem: .systemd)
        #expect(server.unitPath == "/etc/systemd/system/k3s.service")
        #expect(server.unit.contains("ExecStart=/usr/local/bin/k3s server\n"))
        #expect(server.unit.contains("Type=notify"))
        #expect(server.unit.contains("EnvironmentFile=-/etc/systemd/system/k3s.service.env"))
        let agent = ServiceFiles(role: .agent, initSystem: .openrc)
        #expect(agent.unitPath == "/etc/init.d/k3s-agent")
        #expect(agent.unit.hasPrefix("#!/sbin/openrc-run\n"))
        #expect(agent.unit.contains("command_args=\"agent\""))
        #expect(HostScripts.uninstall(role: .agent).contains("/usr/local/bin/k3s-killall.sh"))
        for role in Role.allCases {
            // As the official installer's scripts: an agent's uninstall leaves no k3s data either.
            #expect(HostScripts.uninstall(role: role).contains("rm -rf /etc/rancher/k3s /run/k3s /var/lib/rancher/k3s /var/lib/kubelet\n"))
        }
    }
}
