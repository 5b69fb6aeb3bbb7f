"""The store going away at a set moment of a restore, on each store (MinIO, Azurite,
fake-gcs-server) behind its proxy: as a claim's files are about to be read, and after the
claim is filled while the rest of the backup's objects are still being read. The restore
must stop with an error naming the volume or object it could not read, remove what it
created (or keep it with ``--keep-partial``), start no workload on half a volume, and the
same restore run again once the store is back must finish; the checker's invariants hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from salvage.devcluster.servers import ToxiproxyClient
from salvage.k8s.client import KubeClient
from tests.faults.cases import Fault, per_store
from tests.faults.checker import Checker
from tests.faults.runner import salvage, when
from tests.faults.test_network_faults import RUN_BOUND, _base_backup, _restore, _verdict
from tests.integration.engines import workload
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

FILLING = "restore.salvage.io/filling"  # on a claim from its creation until its last file is in


def at_fill(store: str) -> Fault:
    return Fault(f"{store}-down-at-fill", store, "down", must_finish=False,
                 what="down from the moment the claim exists (its files about to be read)")


def after_fill(store: str) -> Fault:
    # Each answer 300 ms late, so the read after the fill is still under way when the proxy goes.
    return Fault(f"{store}-down-after-fill", store, "down", must_finish=False,
                 what="down once the claim is filled (the rest of the objects still to read), answers 300 ms late")


@contextmanager
def store_down(toxiproxy: ToxiproxyClient, store: str, condition: Any) -> Iterator[Any]:
    """The store's proxy disabled (connections refused, open ones cut) the moment
    ``condition`` holds, and enabled again when the block ends."""
    try:
        with when(condition, lambda: toxiproxy.set_enabled(store, False)) as happened:
            yield happened
    finally:
        toxiproxy.set_enabled(store, True)


def _claim(target: str) -> str:
    return f"/api/v1/namespaces/{target}/persistentvolumeclaims/data-pg-0"


def _removed_all(run: Any, kube: KubeClient, target: str, violations: list[str]) -> None:
    """The run named and removed what it made: the namespace goes, and no StatefulSet was
    ever started (on half a volume, or without the rest of its objects)."""
    if "removed the" not in run.stderr or f"Namespace {target}" not in run.stderr:
        violations.append(f"the restore did not remove (and name) what it created: {run.describe()}")
        return
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{target}"), timeout=60, what="the namespace removed")


@pytest.mark.parametrize("fault", per_store(at_fill))
def test_restore_stops_and_removes_what_it_made_when_the_store_goes_away_mid_fill(
        fault: Fault, toxiproxy: ToxiproxyClient, proxied_kubeconfig: Path, checker: Checker,
        fault_env: dict[str, str], kube: KubeClient) -> None:
    ns = _base_backup(checker, fault_env)
    target = f"{ns}-m"
    try:
        with store_down(toxiproxy, fault.proxy, lambda: kube.exists(_claim(target))) as happened:
            run = _restore(proxied_kubeconfig, "base", ns, target, fault_env)
        assert happened.is_set(), "the store never went down"
        assert run.returncode == 1, run.describe()
        said = " ".join(run.stderr.split())
        violations = [] if f"(claim {target}/data-pg-0) could not be filled" in said and "cannot connect" in said \
            else [f"the error does not name the claim and the outage: {run.describe()}"]
        _removed_all(run, kube, target, violations)
        violations += checker.after_restore(run, target)
        retry = _restore(proxied_kubeconfig, "base", ns, target, fault_env, name=f"again-{target}")
        violations += checker.after_restore(retry, target)
        _verdict(fault, "restore create", 0, run, retry, violations)
    finally:
        kube.delete_if_present(f"/api/v1/namespaces/{target}")


@pytest.mark.parametrize("fault", per_store(at_fill, quick=("minio",)))
def test_restore_keeps_what_it_made_with_keep_partial_when_the_store_goes_away_mid_fill(
        fault: Fault, toxiproxy: ToxiproxyClient, proxied_kubeconfig: Path, checker: Checker,
        fault_env: dict[str, str], kube: KubeClient) -> None:
    """Kept for a look, but marked: the claim still says it is being filled (a restore run
    again would fill it again), and no workload was started on it."""
    ns = _base_backup(checker, fault_env)
    target, again = f"{ns}-k", f"{ns}-kg"
    try:
        with store_down(toxiproxy, fault.proxy, lambda: kube.exists(_claim(target))):
            run = _restore(proxied_kubeconfig, "base", ns, target, fault_env, extra=("--keep-partial",))
        assert run.returncode == 1, run.describe()
        said = " ".join(run.stderr.split())
        assert "kept (--keep-partial)" in said and f"Namespace {target}" in said, run.describe()
        assert f"PersistentVolumeClaim {target}/data-pg-0" in said, run.describe()
        kept = kube.get(_claim(target))
        assert FILLING in (kept["metadata"].get("annotations") or {}), "a half-filled claim not marked as such"
        assert not kube.exists(f"/apis/apps/v1/namespaces/{target}/statefulsets/pg"), "a workload on half a volume"
        violations = checker.after_restore(run, target)
        retry = _restore(proxied_kubeconfig, "base", ns, again, fault_env)
        violations += checker.after_restore(retry, again)
        _verdict(Fault(f"{fault.proxy}-down-at-fill-keep-partial", fault.proxy, "down", must_finish=False,
                       what=f"{fault.what}; --keep-partial"), "restore create", 0, run, retry, violations)
    finally:
        for namespace in (target, again):
            kube.delete_if_present(f"/api/v1/namespaces/{namespace}")


@pytest.mark.parametrize("fault", per_store(after_fill, quick=("minio",)))
def test_restore_stops_and_removes_what_it_made_when_the_store_goes_away_after_the_fill(
        fault: Fault, toxiproxy: ToxiproxyClient, proxied_kubeconfig: Path, checker: Checker,
        fault_env: dict[str, str], kube: KubeClient) -> None:
    """The claim is whole, but the Secret, ConfigMaps, Service and StatefulSet are still to
    be read from the backup: a restore that stops there is not whole either."""
    ns = _base_backup(checker, fault_env)
    target = f"{ns}-a"

    def filled() -> bool:
        claim = kube.find(_claim(target))
        return claim is not None and FILLING not in (claim["metadata"].get("annotations") or {})

    toxiproxy.add_toxic(fault.proxy, "latency", latency=300)
    try:
        with store_down(toxiproxy, fault.proxy, filled) as happened:
            run = _restore(proxied_kubeconfig, "base", ns, target, fault_env)
        assert happened.is_set(), "the store never went down"
        assert run.returncode == 1, run.describe()
        said = " ".join(run.stderr.split())
        violations = [] if "cannot connect" in said and re.search(r"the \S+ of backup base could not be read", said) \
            else [f"the error does not name what it could not read, and why: {run.describe()}"]
        _removed_all(run, kube, target, violations)
        violations += checker.after_restore(run, target)
        toxiproxy.reset()
        retry = _restore(proxied_kubeconfig, "base", ns, target, fault_env, name=f"again-{target}")
        violations += checker.after_restore(retry, target)
        _verdict(fault, "restore create", 0, run, retry, violations)
    finally:
        kube.delete_if_present(f"/api/v1/namespaces/{target}")


def test_recover_stops_and_removes_its_claims_when_the_store_goes_away_mid_fill(
        toxiproxy: ToxiproxyClient, proxied_kubeconfig: Path, checker: Checker, fault_env: dict[str, str],
        kube: KubeClient, minio_proxy: object) -> None:
    ns = _base_backup(checker, fault_env)
    target = f"{ns}-rc"
    kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}})
    claim = _claim(target)
    recover = ("statefulset", "recover", "pg", "-n", target, "--from-backup", "base", "--backup-namespace", ns,
               "--location", "proxied", "--timeout", "60")
    try:
        with store_down(toxiproxy, "minio", lambda: kube.exists(claim)):
            run = salvage(proxied_kubeconfig, *recover, env=fault_env, timeout=RUN_BOUND)
        assert run.returncode == 1, run.describe()
        assert f"The files of claim {target}/data-pg-0 could not be read" in run.stderr, run.stderr
        assert f"PersistentVolumeClaim {target}/data-pg-0" in run.stderr and "salvage location check" in run.stderr
        wait_for(lambda: not kube.exists(claim), timeout=60, what="the half-filled claim removed")
        assert not kube.exists(f"/apis/apps/v1/namespaces/{target}/statefulsets/pg"), "no workload on half a volume"
        retry = salvage(proxied_kubeconfig, *recover, env=fault_env, timeout=RUN_BOUND)
        assert retry.finished, retry.describe()
        workload.wait_ready(kube, target)
        assert workload.digest_of(kube, target) == checker.source_digest
        assert checker.source_untouched() == [] and checker.repository(run) == []
    finally:
        kube.delete_if_present(f"/api/v1/namespaces/{target}")
