import ArgumentParser

/// Commands whose engine lands in a later milestone say so and fail: they never pretend to succeed.
func notImplemented(_ what: String) -> ExitCode {
    printError("edgeup: \(what) is not implemented yet in this build; nothing was changed.")
    return ExitCode.failure
}
