"""The object kinds the API knows without a CRD, and objects' content hash."""
import hashlib
import json


KINDS = {
    # kind: (group, version, plural, namespaced)
    "Namespace": ("", "v1", "namespaces", False), "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "ConfigMap": ("", "v1", "configmaps", True), "Secret": ("", "v1", "secrets", True),
    "Service": ("", "v1", "services", True), "Pod": ("", "v1", "pods", True), "Node": ("", "v1", "nodes", False),
    "PersistentVolume": ("", "v1", "persistentvolumes", False),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "ResourceQuota": ("", "v1", "resourcequotas", True), "LimitRange": ("", "v1", "limitranges", True),
    "Endpoints": ("", "v1", "endpoints", True), "Event": ("", "v1", "events", True),
    "Deployment": ("apps", "v1", "deployments", True), "DaemonSet": ("apps", "v1", "daemonsets", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True), "ReplicaSet": ("apps", "v1", "replicasets", True),
    "Job": ("batch", "v1", "jobs", True), "CronJob": ("batch", "v1", "cronjobs", True),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "StorageClass": ("storage.k8s.io", "v1", "storageclasses", False),
    "PriorityClass": ("scheduling.k8s.io", "v1", "priorityclasses", False),
    "PodDisruptionBudget": ("policy", "v1", "poddisruptionbudgets", True),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    "HelmChart": ("helm.cattle.io", "v1", "helmcharts", True),
    "HelmChartConfig": ("helm.cattle.io", "v1", "helmchartconfigs", True),
    "Addon": ("k3s.cattle.io", "v1", "addons", True),
}
BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]


def canon_hash(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
