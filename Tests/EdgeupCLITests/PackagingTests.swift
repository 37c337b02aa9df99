import EdgeupTestSupport
import Foundation
import Testing

/// The release binary and the .deb (Tests/Packaging/check.sh): the binary runs with the Swift
/// toolchain hidden, the package installs with apt, has its man page, version and completions,
/// and purges without a trace. Root on Debian/Ubuntu: it installs a package on this machine.
@Suite(.enabled(
    if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb"),
    "installs a .deb: root on Debian/Ubuntu"))
struct PackagingTests {
    @Test(.timeLimit(.minutes(20))) func releaseBinaryAndPackageWorkWithoutTheToolchain() throws {
        let run = try runProcess(
            "/bin/bash", [repositoryRoot + "/Tests/Packaging/check.sh"],
            environment: ["EDGEUP_TOOLCHAIN_BUILD": edgeupExecutable])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        for step in ["with /opt/swift hidden", "make install DESTDIR", "man edgeup", "bash completion", "apt-get purge edgeup"] {
            #expect(run.stdout.contains("ok: \(step)"), "\(step): \(run.stdout)")
        }
    }
}
