/// Converges every selected store: facts and plan over one session (checked against a saved plan
/// if given), then the rollout, journaled in a new run folder. SIGINT/SIGTERM stop the run
/// cleanly: no new store starts, states and journal are still written.
///
/// Sends `.factsProgress`, `.warnings`, `.planned` (before anything changes), then every `.run`
/// event (also recorded in the journal) and `.interrupted` when a signal arrives.
/// Throws `SavedPlanError` when the saved plan does not fit, or what creating the run folder throws;
/// then no host was changed.
public func runApply(_ options: ApplyOptions, events: @escaping PipelineEvents) async throws -> ApplyResult {
    let planning = options.planning
    let session = planning.session()
    let gathered = await GatheredPlan.gather(planning, session: session, events: events)
    let journal: RunJournal
    do {
        if let savedPlan = options.savedPlan { try SavedPlan.check(savedPlan, against: gathered.plan) }
        events(.planned(gathered.plan))
        journal = try RunJournal(state: options.state)
    } catch {
        await session.close()
        throw error
    }
    let timing = StoreTiming()
    let record: @Sendable (RunEvent) -> Void = { event in
        timing.record(event)
        events(.run(event))
        journal.record(event)
    }
    record(RunEvent(.runStarted, run: journal.run, message: "\(gathered.plan.stores.count) stores"))
    let runner = FleetRunner(
        session: session, factsConcurrency: planning.factsConcurrency, provisioning: options.provisioning,
        rollout: options.rollout)
    let (result, interruption) = await Interruption.guarding(notice: { events(.interrupted($0)) }) {
        await runner.apply(gathered, run: journal.run, journal: journal, events: record)
    }
    record(RunEvent(
        .runFinished, run: journal.run, outcome: result.allConverged ? .ok : .failed,
        message: interruption.signalNumber.map { "interrupted by signal \($0)" }))
    await session.close()
    journal.close()
    var applied = ApplyResult(
        plan: gathered.plan, rollout: result, run: journal.run, runFolder: journal.state.runFolder(journal.run),
        storeSeconds: timing.seconds, interruptedBy: interruption.signalNumber)
    applied.bytesUploaded = session.client.bytesUploaded
    return applied
}
