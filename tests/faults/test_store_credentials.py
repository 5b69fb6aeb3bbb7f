"""Store credentials revoked mid-run (issue 20): the location's key is a MinIO user made for
the test; mid-run (a backup: at its first change, or while it copies a volume's files under
its repository lock; a restore: as it makes the claim), the user's policy is detached (its
requests refused: AccessDenied) or the user is deleted (its key no longer valid). The run
must stop saying which location refused it, that the credentials were refused and what to
do; a backup is never Completed, a restore removes what it created; the checker's
invariants hold (a lock the refused run could not delete is stale once it is gone, so the
next run goes on); with the rights given back, the same command finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from salvage.devcluster.servers import Proxy, ToxiproxyClient
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from tests.faults.cases import record, sweep_only
from tests.faults.checker import PASSWORD, Checker
from tests.faults.runner import Run, salvage, when
from tests.faults.test_network_faults import _base_backup
from tests.support.minio_users import MinioAdmin, StoreUser
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

REVOCATIONS: dict[str, tuple[str, Callable[[StoreUser], None]]] = {
    "store-policy-detached": ("the location's MinIO user: its policy detached", StoreUser.detach),
    "store-key-deleted": ("the location's MinIO user deleted (its key no longer valid)", StoreUser.remove),
}
# What the error must say: the credentials were refused, and what to do next.
REFUSED = ("refused", "denied", "not valid", "invalid")


@pytest.fixture
def store_user(s3_server: Any) -> Iterator[StoreUser]:
    user = StoreUser.create(MinioAdmin.of(s3_server))
    yield user
    try:
        user.remove()
    except AssertionError:
        pass  # removed by the test already


@pytest.fixture
def limited(cluster: Any, fault_env: dict[str, str], store_user: StoreUser, s3_server: Any, s3_bucket: str,
            minio_proxy: Proxy) -> str:
    """Location ``limited``: the runs' bucket, with the test user's key, through MinIO's proxy."""
    creds = [a for k, v in store_user.credentials.items() for a in ("--credential", f"{k}={v}")]
    added = salvage(cluster.kubeconfig, "location", "add", "limited", "--provider", "s3", "--bucket", s3_bucket,
                    "--endpoint", f"http://{minio_proxy.listen}", "--region", s3_server.region, *creds)
    assert added.finished, added.describe()
    return "limited"


def said_why(run: Run, location_url: str) -> list[str]:
    """The refused run's error: names the location, says the credentials were refused and
    what to do, no traceback."""
    text = " ".join(run.stderr.split())
    found = []
    if run.finished:
        return [f"the run exited 0 with its credentials revoked mid-run: {run.describe()}"]
    if "Traceback" in run.stderr:
        found.append(f"the run ended in a traceback: {run.describe()}")
    if location_url not in text:
        found.append(f"the error does not name the location ({location_url}): {run.describe()}")
    if not any(word in text.lower() for word in REFUSED) or "credentials" not in text.lower():
        found.append(f"the error does not say the credentials were refused, and what to do: {run.describe()}")
    return found


def _verdict(path: str, how: str, label: str, run: Run, retry: Run, violations: list[str], revoked: bool) -> None:
    if not revoked:
        violations.append(f"{how}: the revocation never happened (the run made no change?): {run.describe()}")
    if not retry.finished:
        violations.append(f"{how}: the run with the rights given back did not finish: {retry.describe()}")
    outcome = "finished" if run.finished else f"failed ({run.returncode})"
    record({"path": path, "fault": how, "target": "minio", "label": label,
            "seed": 0, "outcome": outcome, "seconds": round(run.seconds, 1), "violations": violations,
            "error": "" if run.finished else " ".join(run.stderr.split())[-300:]})
    print(f"\n{path} with {how}: {outcome} in {run.seconds:.1f}s\n{run.stderr}")
    assert not violations, "\n".join(violations)


# When, in a backup: at its first object on the store (the resources' streams are being
# written), or 0.25 s after it wrote its repository lock (the store answering 100 ms late:
# the volume's files are being copied under the lock, so what it writes then is refused,
# and so is the removal of its lock).
MOMENTS = {"": ("at its first change", "backups/revoked/", 0.0),
           "-while-locked": ("0.25 s after it took the repository lock (the store answers 100 ms late)",
                             "repository/locks/", 0.25)}


@pytest.mark.parametrize(("how", "moment"), [
    pytest.param("store-policy-detached", "", marks=sweep_only()),
    pytest.param("store-key-deleted", "", marks=sweep_only()),
    ("store-policy-detached", "-while-locked"),
    pytest.param("store-key-deleted", "-while-locked", marks=sweep_only()),
])
def test_backup_create_with_store_credentials_revoked_mid_run(how: str, moment: str, store_user: StoreUser,
                                                              limited: str, checker: Checker,
                                                              fault_env: dict[str, str],
                                                              toxiproxy: ToxiproxyClient) -> None:
    store = checker.location.store
    if moment:
        toxiproxy.add_toxic("minio", "latency", latency=100)

    def backup(name: str) -> Run:
        return salvage(checker.kubeconfig, "backup", "create", name, "--include-namespaces", checker.source_ns,
                       "--default-volumes-to-fs-backup", "--location", limited, env=fault_env)

    started = lambda: next(iter(store.list(MOMENTS[moment][1])), None) is not None  # noqa: E731
    with when(started, lambda: REVOCATIONS[how][1](store_user), after=MOMENTS[moment][2]) as revoked:
        run = backup("revoked")
    violations = said_why(run, open_location(limited).store.url)
    if moment and "could not be removed" not in run.stderr:
        violations.append(f"the run does not say its lock could not be removed: {run.describe()}")
    violations += checker.after_backup(run, "revoked", refused=True)
    if checker.phase("revoked") == "Completed":
        violations.append("a backup whose store credentials were revoked mid-run is Completed")
    toxiproxy.reset()
    store_user.grant()
    retry = backup("regranted")
    violations += checker.after_backup(retry, "regranted")
    _verdict("backup create", how + moment, f"{REVOCATIONS[how][0]}, {MOMENTS[moment][0]}", run, retry, violations,
             revoked.is_set())


@pytest.mark.parametrize("how", [pytest.param("store-policy-detached", marks=sweep_only()), "store-key-deleted"])
def test_restore_create_with_store_credentials_revoked_mid_run(how: str, store_user: StoreUser, limited: str,
                                                               checker: Checker, fault_env: dict[str, str],
                                                               kube: KubeClient) -> None:
    """Revoked as the claim is made, its files about to be read: the restore must stop and
    remove the namespace, claim and volume it made (no workload on half a volume)."""
    ns = _base_backup(checker, fault_env)

    def restore(target: str) -> Run:
        return salvage(checker.kubeconfig, "restore", "create", f"r-{target}", "--from-backup", "base",
                       "--location", limited, "--namespace-mappings", f"{ns}:{target}", "--timeout", "60",
                       env={"SALVAGE_REPO_PASSWORD": PASSWORD})

    target, again = f"{ns}-sr", f"{ns}-sg"
    claim = f"/api/v1/namespaces/{target}/persistentvolumeclaims/data-pg-0"
    try:
        with when(lambda: kube.exists(claim), lambda: REVOCATIONS[how][1](store_user)) as revoked:
            run = restore(target)
        violations = said_why(run, open_location(limited).store.url)
        if "removed the" not in run.stderr or f"Namespace {target}" not in run.stderr:
            violations.append(f"the refused restore did not remove (and name) what it created: {run.describe()}")
        else:
            wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{target}"), timeout=60, what="the namespace removed")
        violations += checker.after_restore(run, target, refused=True)
        store_user.grant()
        retry = restore(again)
        violations += checker.after_restore(retry, again)
        _verdict("restore create", how, f"{REVOCATIONS[how][0]}, as the claim is made (its files about to be read)",
                 run, retry, violations, revoked.is_set())
    finally:
        for namespace in (target, again):
            kube.delete_if_present(f"/api/v1/namespaces/{namespace}")

