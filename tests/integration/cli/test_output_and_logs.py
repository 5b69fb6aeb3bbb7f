"""Output formats and their environment variable, the backup and restore logs, and
``location get|delete``, through the command line on the real cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.support.cli import salvage

pytestmark = pytest.mark.integration


@pytest.fixture
def backed_up(cluster: LocalCluster, kube: KubeClient, ns: str, salvage_home: Path) -> str:
    """Backup `b` of a namespace holding ConfigMap `settings`; returns the namespace."""
    kube.create(f"/api/v1/namespaces/{ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}})
    created = salvage(cluster.kubeconfig, "backup", "create", "b", "--include-namespaces", ns)
    assert created.returncode == 0, created.stderr
    return ns


def test_output_formats_and_their_environment_variable(cluster: LocalCluster, backed_up: str) -> None:
    kc = cluster.kubeconfig
    as_yaml = yaml.safe_load(salvage(kc, "-o", "yaml", "backup", "get").stdout)
    as_json = json.loads(salvage(kc, "--output", "json", "backup", "get").stdout)
    assert as_yaml == as_json and [(b["name"], b["phase"]) for b in as_json] == [("b", "Completed")]
    assert yaml.safe_load(salvage(kc, "-o", "yaml", "backup", "describe", "b").stdout)["phase"] == "Completed"

    from_env = salvage(kc, "backup", "get", env={"SALVAGE_OUTPUT": "json"})
    assert json.loads(from_env.stdout) == as_json
    from_env_yaml = salvage(kc, "backup", "get", env={"SALVAGE_OUTPUT": "yaml"})
    assert yaml.safe_load(from_env_yaml.stdout) == as_json and not from_env_yaml.stdout.lstrip().startswith("[")
    flag_wins = salvage(kc, "-o", "json", "backup", "get", env={"SALVAGE_OUTPUT": "yaml"})
    assert json.loads(flag_wins.stdout) == as_json

    bad = salvage(kc, "backup", "get", env={"SALVAGE_OUTPUT": "xml"})
    assert bad.returncode == 2 and "xml" in bad.stderr


def test_backup_logs_and_restore_logs(cluster: LocalCluster, kube: KubeClient, backed_up: str) -> None:
    kc, ns = cluster.kubeconfig, backed_up
    lines = salvage(kc, "backup", "logs", "b").stdout.splitlines()
    assert any(" info " in line and "backup b completed" in line for line in lines), lines
    entries = json.loads(salvage(kc, "-o", "json", "backup", "logs", "b").stdout)
    assert {"time", "level", "message"} <= set(entries[0]) and len(entries) == len(lines)
    missing = salvage(kc, "backup", "logs", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr

    kube.delete(f"/api/v1/namespaces/{ns}/configmaps/settings")
    assert salvage(kc, "restore", "create", "r", "--from-backup", "b").returncode == 0
    restore_lines = salvage(kc, "restore", "logs", "r").stdout.splitlines()
    assert f"created  configmaps {ns}/settings" in restore_lines
    assert any(line.startswith("skipped  namespaces") for line in restore_lines), restore_lines
    unknown = salvage(kc, "restore", "logs", "nope")
    assert unknown.returncode == 1 and "nope" in unknown.stderr


def test_location_get_and_delete(cluster: LocalCluster, backed_up: str, salvage_home: Path) -> None:
    kc = cluster.kubeconfig
    elsewhere = salvage_home / "elsewhere"
    added = salvage(kc, "location", "add", "extra", "--path", str(elsewhere), "--credential", "token=s3cret")
    assert added.returncode == 0, added.stderr
    assert salvage(kc, "backup", "create", "on-extra", "--include-namespaces", backed_up,
                   "--location", "extra").returncode == 0

    table = salvage(kc, "location", "get").stdout
    assert [line.split()[0] for line in table.splitlines()[1:]] == ["default", "extra"]
    one = json.loads(salvage(kc, "-o", "json", "location", "get", "extra").stdout)
    assert (one["name"], one["provider"], one["bucket"], one["access_mode"]) == \
        ("extra", "filesystem", str(elsewhere), "ReadWrite")
    assert one["credentials"] == {"token": "***"}, "secrets are never printed"

    removed = salvage(kc, "location", "delete", "extra")
    assert removed.returncode == 0 and "its backups were not touched" in removed.stderr
    assert [s["name"] for s in json.loads(salvage(kc, "-o", "json", "location", "get").stdout)] == ["default"]
    assert (elsewhere / "backups" / "on-extra").is_dir(), "the location's backups stay where they were"
    gone = salvage(kc, "location", "get", "extra")
    assert gone.returncode == 1 and "There is no backup location named 'extra'" in gone.stderr
    again = salvage(kc, "location", "delete", "extra")
    assert again.returncode == 1 and "no backup location named 'extra' to delete" in again.stderr
