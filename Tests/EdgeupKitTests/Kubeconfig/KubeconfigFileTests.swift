import EdgeupKit
import Foundation
import Testing

/// The file on disk: where it is, refusing what cannot be read, the lock, the atomic 0600 write.
@Suite struct KubeconfigFileTests {
    @Test func locatesLikeKubectl() {
        func locate(_ flag: String?, _ env: [String: String]) -> String {
            KubeconfigFile.locate(flag: flag, environment: env, homeDirectory: "/home/op", currentDirectory: "/work").path
        }
        #expect(locate(nil, [:]) == "/home/op/.kube/config")
        #expect(locate(nil, ["KUBECONFIG": ""]) == "/home/op/.kube/config")
        #expect(locate(nil, ["KUBECONFIG": "/a/one:/b/two"]) == "/a/one", "the first entry of the list")
        #expect(locate(nil, ["KUBECONFIG": ":/b/two"]) == "/b/two", "empty entries skipped")
        #expect(locate("custom.yaml", ["KUBECONFIG": "/a/one"]) == "/work/custom.yaml", "the flag wins, relative to cwd")
        #expect(locate("~/k/config", [:]) == "/home/op/k/config")
    }

    @Test func createsFolderAndFile0600() async throws {
        let folder = try TemporaryFolder()
        let file = KubeconfigFile(path: folder.path + "/new/.kube/config")
        let result = try await file.merge([try storeKubeconfig("store-1")])
        #expect(result.added == ["store-1"])
        #expect(try mode(file.path) == 0o600)
        #expect(try mode(folder.path + "/new/.kube") == 0o700)
        #expect(try mode(folder.path + "/new") == 0o700)
        #expect(try contents(file.path) == result.text)
        #expect(!FileManager.default.fileExists(atPath: file.path + ".lock"), "lock released")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path + "/new/.kube")
        #expect(leftovers == ["config"], "no temporary file left behind")
    }

    @Test func rewritesAnExistingFileTo0600AndKeepsItsSymlink() async throws {
        let folder = try TemporaryFolder()
        let real = folder.path + "/dotfiles-config"
        try operatorKubeconfig.write(toFile: real, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: real)
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/config", withDestinationPath: real)
        let file = KubeconfigFile(path: folder.path + "/config")
        _ = try await file.merge([try storeKubeconfig("store-1")])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: file.path) == real, "still a symlink")
        #expect(try names("contexts", in: contents(real)) == ["prod", "store-1"])
        #expect(try mode(real) == 0o600)
    }

    @Test func unchangedMergeDoesNotRewrite() async throws {
        let folder = try TemporaryFolder()
        let file = KubeconfigFile(path: folder.path + "/config")
        _ = try await file.merge([try storeKubeconfig("store-1")])
        let inode = try FileManager.default.attributesOfItem(atPath: file.path)[.systemFileNumber] as? Int
        let again = try await file.merge([try storeKubeconfig("store-1")])
        #expect(!again.changed)
        #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.systemFileNumber] as? Int == inode)
    }

    @Test(arguments: ["invalid", "not-utf8", "directory"])
    func refusesAndLeavesTheFileByteIdentical(kind: String) async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/config"
        let original: Data
        switch kind {
        case "invalid": original = Data("clusters: [\n  - name: broken\n".utf8)
        case "not-utf8": original = Data([0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A])
        default: original = Data()
        }
        if kind == "directory" {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        } else {
            try original.write(to: URL(fileURLWithPath: path))
        }
        do {
            _ = try await KubeconfigFile(path: path).merge([try storeKubeconfig("store-1")])
            Issue.record("merged into an unreadable or invalid file")
        } catch let error as KubeconfigError {
            #expect(error.kind == (kind == "invalid" ? .invalid : .unreadable), "\(error)")
            #expect(error.description.hasPrefix(path), "names the file: \(error)")
        }
        if kind != "directory" {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
        }
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"), "lock released on failure")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["config"])
    }

    @Test func waitsForAnotherProcessesLockThenMerges() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/config"
        try operatorKubeconfig.write(toFile: path, atomically: false, encoding: .utf8)
        let lock = path + ".lock"
        // What kubectl does: an empty lock file, created exclusively, removed when done.
        #expect(FileManager.default.createFile(atPath: lock, contents: nil))
        let merge = Task { try await KubeconfigFile(path: path).merge([try storeKubeconfig("store-1")]) }
        try await Task.sleep(for: .milliseconds(400))
        #expect(try contents(path) == operatorKubeconfig, "nothing written while the lock is held")
        try FileManager.default.removeItem(atPath: lock)
        let result = try await merge.value
        #expect(result.added == ["store-1"])
        #expect(try names("contexts", in: contents(path)) == ["prod", "store-1"])
    }

    @Test func aLockThatNeverGoesAwayIsReportedNotBroken() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/config"
        try operatorKubeconfig.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(FileManager.default.createFile(atPath: path + ".lock", contents: nil))
        do {
            _ = try await KubeconfigFile(path: path).merge([try storeKubeconfig("store-1")], lockTimeout: .milliseconds(300))
            Issue.record("merged while locked")
        } catch let error as KubeconfigError {
            #expect(error.kind == .locked)
            #expect(error.message.contains(path + ".lock"), "names the lock file: \(error)")
            #expect(error.message.contains("after waiting 0.3 seconds"), "\(error)")
            #expect(error.hint?.contains("rm \(path).lock") == true)
        }
        #expect(FileManager.default.fileExists(atPath: path + ".lock"), "someone else's lock is never removed")
        #expect(try contents(path) == operatorKubeconfig)
    }

    /// An edgeup killed while holding the lock left its pid in it: once that process is gone, the
    /// next run takes the lock over; a live owner's lock (or one from another host) is kept.
    @Test func aLockLeftByAKilledEdgeupIsTakenOver() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/config"
        try operatorKubeconfig.write(toFile: path, atomically: false, encoding: .utf8)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let host = ProcessInfo.processInfo.hostName
        let dead = "edgeup pid=\(child.processIdentifier) host=\(host)\n"
        try dead.write(toFile: path + ".lock", atomically: false, encoding: .utf8)
        _ = try await KubeconfigFile(path: path).merge([try storeKubeconfig("store-1")], lockTimeout: .milliseconds(300))
        #expect(try contents(path).contains("store-1"))
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"))

        for kept in ["edgeup pid=\(getpid()) host=\(host)\n", "edgeup pid=\(child.processIdentifier) host=elsewhere\n"] {
            try kept.write(toFile: path + ".lock", atomically: false, encoding: .utf8)
            await #expect(throws: KubeconfigError.self) {
                _ = try await KubeconfigFile(path: path).merge([try storeKubeconfig("store-2")], lockTimeout: .milliseconds(300))
            }
            #expect(try String(contentsOfFile: path + ".lock", encoding: .utf8) == kept)
        }
    }

    @Test func concurrentMergesOfDifferentStoresAllLand() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/config"
        try operatorKubeconfig.write(toFile: path, atomically: false, encoding: .utf8)
        let names = (1...12).map { "store-\($0)" }
        // Each task opens, locks and writes the file on its own, like separate edgeup runs.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in names {
                let store = try storeKubeconfig(name)
                group.addTask { _ = try await KubeconfigFile(path: path).merge([store]) }
            }
            try await group.waitForAll()
        }
        let merged = try contents(path)
        #expect(try Set(EdgeupKitTests.names("contexts", in: merged)) == Set(names + ["prod"]))
        #expect(try EdgeupKitTests.names("users", in: merged).count == 13)
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"))
    }

    @Test func noMergeWritesOneFilePerStore() async throws {
        let folder = try TemporaryFolder()
        let stores = [try storeKubeconfig("store-1"), try storeKubeconfig("edge-store-2")]
        let files = try await KubeconfigFile.writeSeparately(stores, to: folder.path + "/kubeconfigs")
        #expect(files.map(\.path) == [folder.path + "/kubeconfigs/store-1.yaml", folder.path + "/kubeconfigs/edge-store-2.yaml"])
        for (file, store) in zip(files, stores) {
            #expect(try contents(file.path) == store.yaml)
            #expect(try mode(file.path) == 0o600)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/kubeconfigs").sorted()
            == ["edge-store-2.yaml", "store-1.yaml"])
    }
}
