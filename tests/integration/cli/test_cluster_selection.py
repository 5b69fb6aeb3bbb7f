"""Choosing the cluster: ``--kubeconfig``, ``KUBECONFIG`` (a file or a merged list),
``--context``, ``SALVAGE_CONTEXT``.

Two real clusters are up; the same namespace exists on both, with a ConfigMap named after
its cluster. Each way of choosing must back up from, and restore into, the one it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.support.backups import backed_up, names_of
from tests.support.builders import namespace
from tests.support.cli import salvage

pytestmark = pytest.mark.integration


def _configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"from": name}}


def _merged_kubeconfig(path: Path, current: LocalCluster, other: LocalCluster) -> tuple[Path, str, str]:
    """One kubeconfig with both clusters' contexts, ``current`` the current one (as kubectl merges)."""
    first, second = (yaml.safe_load(c.kubeconfig.read_text()) for c in (current, other))
    merged = {"apiVersion": "v1", "kind": "Config", "current-context": first["current-context"],
              **{key: first[key] + second[key] for key in ("clusters", "users", "contexts")}}
    path.write_text(yaml.safe_dump(merged))
    return path, first["current-context"], second["current-context"]


def test_each_way_of_choosing_a_cluster_acts_on_that_cluster(
        cluster: LocalCluster, second_cluster: LocalCluster, kube: KubeClient, ns: str,
        salvage_home: Path, tmp_path: Path) -> None:
    merged, context_a, context_b = _merged_kubeconfig(tmp_path / "merged", cluster, second_cluster)
    a, b = str(cluster.kubeconfig), str(second_cluster.kubeconfig)
    kube.create(f"/api/v1/namespaces/{ns}/configmaps", _configmap("in-a"))
    with second_cluster.client() as other:
        other.create("/api/v1/namespaces", namespace(ns))
        try:
            other.create(f"/api/v1/namespaces/{ns}/configmaps", _configmap("in-b"))
            # (kubeconfig flag, extra root options, environment) -> the cluster it must act on
            ways: list[tuple[str, Path | str | None, list[str], dict[str, str], str]] = [
                ("current-context", merged, [], {}, "in-a"),
                ("--context", merged, ["--context", context_b], {}, "in-b"),
                ("SALVAGE_CONTEXT", merged, [], {"SALVAGE_CONTEXT": context_b}, "in-b"),
                ("--context over SALVAGE_CONTEXT", merged, ["--context", context_a],
                 {"SALVAGE_CONTEXT": context_b}, "in-a"),
                ("KUBECONFIG", None, [], {"KUBECONFIG": b}, "in-b"),
                ("KUBECONFIG list, merged", None, ["--context", context_b], {"KUBECONFIG": f"{a}:{b}"}, "in-b"),
                ("KUBECONFIG list, first current-context", None, [], {"KUBECONFIG": f"{b}:{a}"}, "in-b"),
                ("--kubeconfig over KUBECONFIG", Path(a), [], {"KUBECONFIG": b}, "in-a"),
            ]
            for n, (way, kubeconfig, options, env, expected) in enumerate(ways):
                result = salvage(Path(kubeconfig) if kubeconfig else None, *options,
                                 "backup", "create", f"way-{n}", "--include-namespaces", ns, env=env)
                assert result.returncode == 0, (way, result.stderr)
                assert names_of(backed_up(f"way-{n}"), "configmaps", ns) - {"kube-root-ca.crt"} == {expected}, way

            # A write goes to the chosen cluster too: restore B's ConfigMap into B, by context.
            other.delete(f"/api/v1/namespaces/{ns}/configmaps/in-b")
            restored = salvage(merged, "--context", context_b, "restore", "create", "--from-backup", "way-1")
            assert restored.returncode == 0, restored.stderr
            assert other.get(f"/api/v1/namespaces/{ns}/configmaps/in-b")["data"] == {"from": "in-b"}
            assert not kube.exists(f"/api/v1/namespaces/{ns}/configmaps/in-b"), "cluster A is untouched"

            unknown = salvage(merged, "--context", "nowhere", "backup", "create", "never",
                              "--include-namespaces", ns)
            assert unknown.returncode == 2
            assert f"Context 'nowhere' is not in kubeconfig {merged}" in unknown.stderr
            assert "kubectl config get-contexts" in unknown.stderr
            assert "never" not in salvage(merged, "backup", "get").stdout, "nothing was written"
        finally:
            other.delete(f"/api/v1/namespaces/{ns}")
