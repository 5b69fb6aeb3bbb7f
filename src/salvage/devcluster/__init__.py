"""Builds and runs a real local Kubernetes control plane for tests and demos.

Real components only: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kwok (fake nodes whose pods reach Running) and the upstream CSI snapshot-controller.
Binaries are built from pinned Go modules once per machine and cached; each named
cluster keeps its certificates, data and logs in its own state directory, listens on
loopback only, and can run beside others.

Public surface: :func:`salvage.devcluster.build.ensure_components` and
:class:`salvage.devcluster.local_cluster.LocalCluster`.
"""
