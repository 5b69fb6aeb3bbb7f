"""Seeds 001 and 003 replayed with their data written and read by real containers on the
real node (seed 002 is in test_real_pods.py; the kwok replays, which write from the test
process, stay in test_seed_001.py and cli/snapshot/test_snapshot_cli.py).

- 001: PostgreSQL as a StatefulSet with a row in ``mytable``; the namespace backed up with
  a volume snapshot, deleted, restored: the new server reads the row. Then the article's
  restic path: the volume's files copied by a data-mover pod instead of a snapshot.
- 003: busybox appending ``date`` lines to its claim; a snapshot, more lines, a restore into
  ``busybox-snapshot`` read by another pod: exactly the lines up to the snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images import builders as images
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod
from tests.support.builders import pvc, real_pod
from tests.support.cli import salvage
from tests.support.volumes import claim_path
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

DATA = "/var/lib/postgresql/data"
SERVER = f"""
if [ ! -s {DATA}/db/PG_VERSION ]; then
  initdb -D {DATA}/db -U postgres --auth-local=trust >/dev/null
fi
exec postgres -D {DATA}/db -k /tmp -c listen_addresses=127.0.0.1
"""


def in_pod(kube: KubeClient, ns: str, pod: str, *argv: str) -> str:
    result = exec_in_pod(kube, ns, pod, list(argv), timeout=60)
    assert result.ok, f"{argv} in {pod}: {result.stderr or result.message}"
    return result.stdout


def psql(kube: KubeClient, ns: str, sql: str) -> str:
    return in_pod(kube, ns, "postgresql-0", "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "/tmp",
                  "-U", "postgres", "-c", sql).strip()


def postgresql(ns: str) -> dict[str, Any]:
    """Seed 001's single-instance PostgreSQL StatefulSet, with a CHECKPOINT as its pre hook
    (so the snapshot holds the row in its data files, not only in the WAL)."""
    container = {
        "name": "postgres", "image": images.POSTGRES.ref, "imagePullPolicy": "Never",
        "command": ["sh", "-c", SERVER],
        "readinessProbe": {"exec": {"command": ["pg_isready", "-h", "/tmp"]}, "periodSeconds": 1},
        "volumeMounts": [{"name": "postgresql-volume-claim", "mountPath": DATA}],
    }
    hook = ["psql", "-X", "-h", "/tmp", "-U", "postgres", "-c", "CHECKPOINT"]
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgresql", "namespace": ns},
        "spec": {
            "serviceName": "postgresql", "replicas": 1, "selector": {"matchLabels": {"app": "postgresql"}},
            "template": {
                "metadata": {"labels": {"app": "postgresql"},
                             "annotations": {"pre.hook.snapshot.salvage.io/command": json.dumps(hook)}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [container]},
            },
            "volumeClaimTemplates": [{"metadata": {"name": "postgresql-volume-claim"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    }


def _deploy_with_a_row(kube: KubeClient, ns: str) -> None:
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", postgresql(ns))
    pod_ready(kube, ns, "postgresql-0", timeout=240)
    psql(kube, ns, "CREATE TABLE mytable (name varchar(50)); INSERT INTO mytable(name) VALUES ('Tomas Kubica')")


def _delete_namespace(kube: KubeClient, ns: str) -> None:
    kube.delete(f"/api/v1/namespaces/{ns}")
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}"), timeout=180, what=f"namespace {ns} gone")


@pytest.mark.parametrize("how", ["snapshot", "fs"])
def test_seed_001_postgresql_namespace_deleted_and_restored_reads_its_row_in_a_new_container(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    _deploy_with_a_row(real_kube, real_ns)

    # The article: `ark backup create --include-namespaces wp --snapshot-volumes -w mybackup`,
    # and for volumes that cannot be snapshotted, restic (here, the data mover).
    method = ["--default-volumes-to-fs-backup"] if how == "fs" else []
    password = {"SALVAGE_REPO_PASSWORD": "seed-001"}
    backup = salvage(real_cluster.kubeconfig, "backup", "create", "mybackup", "--include-namespaces", real_ns,
                     *method, env=password)
    assert backup.returncode == 0, backup.stderr
    described = json.loads(salvage(real_cluster.kubeconfig, "-o", "json", "backup", "describe", "mybackup").stdout)
    assert described["phase"] == "Completed"
    assert [v["method"] for v in described["volumes"]] == ["fs" if how == "fs" else "csi-snapshot"]

    _delete_namespace(real_kube, real_ns)  # the worst day: `kubectl delete namespace wp`
    restored = salvage(real_cluster.kubeconfig, "restore", "create", "myrestore", "--from-backup", "mybackup",
                       env=password)
    assert restored.returncode == 0, restored.stderr

    pod_ready(real_kube, real_ns, "postgresql-0", timeout=240)
    assert psql(real_kube, real_ns, "SELECT name FROM mytable") == "Tomas Kubica"
    pod = real_kube.get(f"/api/v1/namespaces/{real_ns}/pods/postgresql-0")
    assert pod["status"]["hostIP"] == "10.88.0.1" or pod["spec"]["nodeName"] == "real-node-0", \
        "read by a container on the real node"
    leftovers = real_kube.list("/api/v1/pods", labelSelector="salvage.io/temporary")
    assert list(leftovers) == [], "no data-mover pod is left behind"


def test_seed_003_a_pods_lines_up_to_the_snapshot_are_read_back_by_another_pod(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str) -> None:
    real_kube.create(claim_path(real_ns), pvc("gce-pvc", size="3Gi"))
    # The article's writer appends `date` every second; here 50 numbered lines, then it waits,
    # so the test knows what the snapshot must hold.
    writer = "i=0; while [ $i -lt 50 ]; do echo \"$(date) #$i\" >> /data/pod-out.txt; i=$((i+1)); done; sync; " \
             "sleep 3600"
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("busybox", writer, claim="gce-pvc"))
    pod_ready(real_kube, real_ns, "busybox")
    lines = wait_for(lambda: _lines(real_kube, real_ns, "busybox", want=50), timeout=30, what="the writer's 50 lines")

    cli = lambda *args: salvage(real_cluster.kubeconfig, *args, "-n", real_ns)  # noqa: E731
    made = cli("snapshot", "create", "snapshot-demo", "--pvc", "gce-pvc", "--wait")
    assert made.returncode == 0, made.stderr
    in_pod(real_kube, real_ns, "busybox", "sh", "-c", "for i in 1 2 3; do date >> /data/pod-out.txt; done; sync")
    restored = cli("snapshot", "restore", "snapshot-demo", "--to-pvc", "busybox-snapshot", "--wait")
    assert restored.returncode == 0, restored.stderr

    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("busybox-snapshot", "sleep 3600",
                                                                       claim="busybox-snapshot"))
    pod_ready(real_kube, real_ns, "busybox-snapshot")
    assert _lines(real_kube, real_ns, "busybox-snapshot", want=50) == lines, \
        "the restored claim holds exactly the lines written before the snapshot"
    assert len(in_pod(real_kube, real_ns, "busybox", "cat", "/data/pod-out.txt").splitlines()) == 53
    claim = real_kube.get(claim_path(real_ns, "busybox-snapshot"))
    assert claim["spec"]["resources"]["requests"]["storage"] == "3Gi"


def _lines(kube: KubeClient, ns: str, pod: str, *, want: int) -> list[str] | None:
    lines = in_pod(kube, ns, pod, "cat", "/data/pod-out.txt").splitlines()
    return lines if len(lines) == want else None
