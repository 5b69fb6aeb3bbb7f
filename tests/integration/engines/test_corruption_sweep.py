"""The corruption sweep (issue 20): every object of a namespace backup with an ``fs`` volume
(and of one with a CSI snapshot volume), catalog and repository alike, is in turn flipped (one byte), truncated and deleted, and each time
restored under a new namespace mapping. Every case must be refused before the
first write (no write request reaches the API server), or rolled back: everything the
restore created is gone again and the damaged files are named.

One backup serves every case; each damaged object is put back byte for byte afterwards.
Restores run in-process through the engine; the cases users meet first go through the CLI:
``restore create`` with and without ``--verify-data`` and with ``--keep-partial``, and
``statefulset recover`` from the same backup.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from salvage.engines.backup_restore import RestoreReport, RestoreRequest, restore_backup
from salvage.k8s.client import KubeClient
from salvage.locations import Location, open_location
from salvage.model.errors import SalvageError
from salvage.repo import layout
from salvage.repo.repository import Repository
from salvage.storage.prefixed import PrefixedStore
from tests.integration.engines import workload
from tests.integration.engines.conftest import Salvage
from tests.support.damage import DAMAGES, damage
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
DAMAGED_FILE = "/base/16384/1259"  # the volume's large file (workload.deploy): most of the data pack


class RecordingClient(KubeClient):
    """Records every request that is not a read."""

    def __init__(self, kube: KubeClient) -> None:
        super().__init__(kube.connection)
        self.writes: list[tuple[str, str]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if method != "GET":
            self.writes.append((method, path))
        return super().request(method, path, **kwargs)


@pytest.fixture
def backed_up(kube: KubeClient, ns: str, salvage: Salvage, monkeypatch: pytest.MonkeyPatch) -> Iterator[Location]:
    monkeypatch.setenv("SALVAGE_REPO_PASSWORD", PASSWORD)
    workload.deploy(kube, ns)
    salvage("backup", "create", "sweep", "--include-namespaces", ns, "--default-volumes-to-fs-backup")
    yield open_location()


def _data_pack(location: Location) -> str:
    repo = Repository.open(PrefixedStore(location.store, "repository"), PASSWORD, read_only=True)
    return "repository/" + layout.pack_key(next(loc.pack_id for _b, loc in repo.index.items() if loc.type == "data"))


def _leftovers(kube: KubeClient, target: str) -> list[str]:
    """What exists of a restore into namespace ``target``: the namespace, PVs claimed from it."""
    found = [f"namespace {target}"] if kube.exists(f"/api/v1/namespaces/{target}") else []
    found += [pv["metadata"]["name"] for pv in kube.list("/api/v1/persistentvolumes")
              if (pv["spec"].get("claimRef") or {}).get("namespace") == target]
    return found


def _case(kube: KubeClient, location: Location, ns: str, target: str) -> tuple[str, str]:
    """Restore into ``target`` through the engine: ("refused" | "rolled back" | a violation, detail)."""
    client = RecordingClient(kube)
    request = RestoreRequest(name=target, backup="sweep", namespace_map={ns: target}, repo_password=PASSWORD,
                             timeout=60)
    try:
        report: RestoreReport = restore_backup(client, location, request)
    except SalvageError as exc:
        if client.writes:
            return "VIOLATION: refused after writing", f"{client.writes}: {exc.message}"
        return "refused", " ".join(exc.message.split())
    except Exception as exc:  # noqa: BLE001 - anything else is a crash the user would see as a traceback
        return "VIOLATION: crashed", repr(exc)
    finally:
        client.close()
    named = any(DAMAGED_FILE.lstrip("/") in e for e in report.errors)
    left = _leftovers(kube, target)
    if report.phase == "Failed" and report.removed and named and not left:
        return "rolled back", f"removed {', '.join(report.removed)}"
    return f"VIOLATION: {report.phase}", f"errors {report.errors}, left {left}"


def test_every_damaged_object_is_refused_before_the_first_write_or_rolled_back(
        kube: KubeClient, ns: str, backed_up: Location, salvage: Salvage) -> None:
    _sweep(kube, ns, backed_up, repository=True)

    # Everything was put back: the same backup restores, byte for byte.
    salvage("restore", "create", "--from-backup", "sweep", "--namespace-mappings", f"{ns}:{ns}-ok")
    try:
        workload.wait_ready(kube, f"{ns}-ok")
        assert workload.digest_of(kube, f"{ns}-ok") == workload.digest_of(kube, ns)
    finally:
        kube.delete(f"/api/v1/namespaces/{ns}-ok")


def test_the_sweep_on_a_backup_with_a_snapshot_volume(kube: KubeClient, ns: str, salvage: Salvage,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The same sweep on a namespace backup whose volume is a CSI snapshot: its data stays in
    the cluster, so every object on the location is the catalog's, and each is refused
    before the first write. (A data-moved volume needs a real node: its mover writes the same
    repository objects as an ``fs`` volume's.)"""
    monkeypatch.setenv("SALVAGE_REPO_PASSWORD", PASSWORD)
    workload.deploy(kube, ns)
    salvage("backup", "create", "sweep", "--include-namespaces", ns)
    method = json.loads(salvage("-o", "json", "backup", "describe", "sweep").stdout)["volumes"][0]["method"]
    assert method == "csi-snapshot", method
    _sweep(kube, ns, open_location(), repository=False)


def _sweep(kube: KubeClient, ns: str, backed_up: Location, *, repository: bool) -> None:
    """Every object of backup ``sweep`` flipped, truncated, deleted in turn: each restore is
    refused before the first write, or rolled back naming the damaged file (only a flipped
    byte inside the data pack gets that far, when the backup has repository data)."""
    store = backed_up.store
    objects = sorted(info.key for info in store.list(""))
    assert not [k for k in objects if k.startswith("repository/locks/")], "the backup left no lock"
    assert any(k.startswith("backups/sweep/resources/") for k in objects)
    if repository:
        assert {k.split("/")[1] for k in objects if k.startswith("repository/")} >= {
            "config", "keys", "data", "index", "snapshots"}
    started = time.monotonic()
    outcomes: list[tuple[str, str, str, str]] = []
    for number, key in enumerate(objects):
        for how in DAMAGES:
            with damage(store, key, how):
                outcome, detail = _case(kube, backed_up, ns, f"{ns}-c{number}{how[0]}")
            outcomes.append((key, how, outcome, detail))
    seconds = time.monotonic() - started
    table = "\n".join(f"{how:8} {outcome:12} {key}: {detail[:160]}" for key, how, outcome, detail in outcomes)
    print(f"\ncorruption sweep: {len(outcomes)} cases over {len(objects)} objects in {seconds:.1f}s\n{table}")
    violations = [o for o in outcomes if o[2].startswith("VIOLATION")]
    assert not violations, table
    assert len(outcomes) == 3 * len(objects) >= 3 * (12 if repository else 5)
    rolled_back = [(key, how) for key, how, outcome, _d in outcomes if outcome == "rolled back"]
    expected = [(_data_pack(backed_up), "flip")] if repository else []
    assert rolled_back == expected, "only bytes inside a data pack get past the preflight"


def test_the_cli_refuses_or_rolls_back_and_names_the_damaged_file(
        kube: KubeClient, ns: str, backed_up: Location, salvage: Salvage) -> None:
    pack = _data_pack(backed_up)
    with damage(backed_up.store, pack, "flip"):
        refused = salvage("restore", "create", "verify", "--from-backup", "sweep", "--namespace-mappings", f"{ns}:{ns}-v",
                          "--verify-data", check=False)
        assert refused.returncode == 1, refused.stderr
        assert "does not hash to its name" in refused.stderr and DAMAGED_FILE in refused.stderr
        assert "Nothing was restored" in refused.stderr and _leftovers(kube, f"{ns}-v") == []

        rolled = salvage("restore", "create", "roll", "--from-backup", "sweep", "--namespace-mappings", f"{ns}:{ns}-r",
                         check=False)
        assert rolled.returncode == 1, rolled.stderr
        assert DAMAGED_FILE.lstrip("/") in rolled.stderr and f"Namespace {ns}-r" in rolled.stderr
        assert "removed the" in rolled.stderr and _leftovers(kube, f"{ns}-r") == []

        kept = salvage("-o", "json", "restore", "create", "keep", "--from-backup", "sweep", "--namespace-mappings",
                       f"{ns}:{ns}-k", "--keep-partial", check=False)
        try:
            assert kept.returncode == 1, kept.stderr
            report = json.loads(kept.stdout)
            assert report["phase"] == "Failed" and f"PersistentVolumeClaim {ns}-k/data-pg-0" in report["kept"]
            assert kube.exists(f"/api/v1/namespaces/{ns}-k/persistentvolumeclaims/data-pg-0")
        finally:
            kube.delete(f"/api/v1/namespaces/{ns}-k")


def test_recover_refuses_or_removes_the_claims_it_created(
        kube: KubeClient, ns: str, other_ns: str, backed_up: Location, salvage: Salvage) -> None:
    recover = ("statefulset", "recover", "pg", "-n", other_ns, "--from-backup", "sweep", "--backup-namespace", ns,
               "--timeout", "60")
    claim = f"/api/v1/namespaces/{other_ns}/persistentvolumeclaims/data-pg-0"
    with damage(backed_up.store, _data_pack(backed_up), "flip"):
        refused = salvage(*recover, "--verify-data", check=False)
        assert refused.returncode == 1 and "does not hash to its name" in refused.stderr, refused.stderr
        assert not kube.exists(claim)

        rolled = salvage(*recover, check=False)
        assert rolled.returncode == 1, rolled.stderr
        assert DAMAGED_FILE.lstrip("/") in rolled.stderr
        assert f"PersistentVolumeClaim {other_ns}/data-pg-0" in rolled.stderr
        wait_for(lambda: not kube.exists(claim), timeout=30, what="the claim removed")
        assert _leftovers(kube, other_ns) == [f"namespace {other_ns}"], "the namespace existed before: it stays"
        assert not kube.exists(f"/apis/apps/v1/namespaces/{other_ns}/statefulsets/pg")
