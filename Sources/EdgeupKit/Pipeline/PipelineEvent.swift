/// What an entry point (`runPlan`, `runApply`, ...) tells its caller while it works, in the order
/// it happens. Each entry point says which of these it sends; the caller decides what to show.
public enum PipelineEvent: Sendable {
    /// Facts arrived from one more host: `seen` of `total`.
    case factsProgress(seen: Int, total: Int)
    /// The SSH client's loud notices (e.g. hops whose host key is not checked), once the hosts were
    /// reached: after facts gathering, or after the last command.
    case warnings([String])
    /// The plan about to be executed (a saved plan already checked against it).
    case planned(Plan)
    /// One step of a run, as the journal records it.
    case run(RunEvent)
    /// One line of a host's output (`runExec`).
    case output(StoreHost, OutputStream, String)
    /// A signal arrived: what happens now (a second one exits at once).
    case interrupted(String)
}

/// Where an entry point sends its `PipelineEvent`s; called from many tasks at once.
public typealias PipelineEvents = @Sendable (PipelineEvent) -> Void
