/// edgeup's own version, printed by `edgeup --version` and recorded in run journals.
public enum EdgeupVersion {
    public static let current = "0.1.0-dev"
}
