import Foundation

/// The default passphrase source: asks on the terminal, and only when one is attached.
public enum TerminalPassphrasePrompt {
    /// Serialises prompts so concurrent connections using one key ask once, one at a time.
    private static let asked = Locked([String: Secret]())
    private static let promptLock = NSLock()

    public static let provider: PassphraseProvider = { request in
        guard isatty(STDIN_FILENO) == 1, isatty(STDERR_FILENO) == 1 else { return nil }
        return await withCheckedContinuation { continuation in
            // Reading the terminal blocks: keep it off the cooperative pool.
            Thread.detachNewThread {
                promptLock.lock()
                defer { promptLock.unlock() }
                if let known = asked.withLock({ $0[request.keyFile] }) {
                    continuation.resume(returning: known)
                    return
                }
                let secret = readHidden(prompt: "Passphrase for \(request.keyFile) (\(request.hopLabel)): ")
                if let secret { asked.withLock { $0[request.keyFile] = secret } }
                continuation.resume(returning: secret)
            }
        }
    }

    private static func readHidden(prompt: String) -> Secret? {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { return nil }
        return Secret(line)
    }
}
