"""The full part of the k3s test double: the `k3s` CLI, configuration, certificates, joins, `k3s kubectl`,
`k3s token`. It may use yaml and cryptography (imported where needed) and the lean part (k3sd)."""
