/// The environment the system `ssh` runs with: only what ssh itself needs, never the operator's
/// whole environment, which holds the sudo password and every `!env` secret of the inventory.
enum OpenSSHEnvironment {
    /// The variables passed through, each for a reason:
    /// - HOME: `~` in ssh_config and in `ProxyCommand`s of the operator's own config;
    /// - USER, LOGNAME: the login name that commands run from ssh_config expect to find;
    /// - PATH: `ProxyCommand`, `Match exec` and `KnownHostsCommand` of the operator's config;
    /// - XDG_RUNTIME_DIR: where agent sockets live that ssh_config's `IdentityAgent` often names;
    /// - SSH_SK_PROVIDER: the FIDO security-key middleware, when the operator set one.
    /// Left out on purpose: LANG/LC_* (Debian's ssh_config sends them to hosts with SendEnv, so remote
    /// output would depend on the operator's locale, unlike with libssh2) and TERM (ssh never gets a tty).
    static let passedThrough = ["HOME", "USER", "LOGNAME", "PATH", "XDG_RUNTIME_DIR", "SSH_SK_PROVIDER"]

    /// `SSH_AUTH_SOCK` only when the hop may use the agent: without it, ssh cannot reach the agent.
    static func forSSH(from environment: [String: String], useAgent: Bool) -> [String: String] {
        let names = passedThrough + (useAgent ? ["SSH_AUTH_SOCK"] : [])
        return environment.filter { names.contains($0.key) }
    }
}
