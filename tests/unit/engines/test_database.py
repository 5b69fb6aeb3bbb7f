"""`salvage db backup`'s engine (engines/database.py) on a fake cluster, the container's
answers faked: a Completed backup only after every dump ended well, and its deletion."""

from __future__ import annotations

import base64

import pytest

from salvage.catalog.reader import BackupReader
from salvage.engines.database import (
    DatabaseRef, DbBackupRequest, DbVerifyRequest, QueryCheck, backup_database, verify_database,
)
from salvage.engines.deletion import delete_backup
from salvage.locations import Location, LocationSpec
from salvage.model.errors import UsageError
from salvage.repo.snapshots import list_snapshots
from salvage.storage.memory import MemoryStore
from salvage.volumes import location_repository, postgres
from tests.support.fake_kube import FakeApi
from tests.unit.volumes.test_postgres_method import COUNTS, FakeServer

PASSWORD = "repo"


def cluster() -> FakeApi:
    secret = base64.b64encode(b"s3cret").decode()
    return FakeApi({
        "/api/v1/namespaces/shop/pods/pg-0": {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "pg-0", "namespace": "shop",
                         "annotations": {"backup.salvage.io/database": "postgresql",
                                         "backup.salvage.io/database-secret": "dbpass"}},
            "spec": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-pg-0"}}]},
            "status": {"phase": "Running"}},
        "/api/v1/namespaces/shop/secrets/dbpass": {"apiVersion": "v1", "kind": "Secret",
                                                   "data": {"dbpassword": secret}},
    })


@pytest.fixture(autouse=True)
def no_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed run ends its processes through an exec of its own: nothing to end here."""
    monkeypatch.setattr(postgres, "exec_in_pod", lambda *_a, **_kw: None)


def location() -> Location:
    return Location(LocationSpec("mem", "filesystem", "/nowhere"), MemoryStore())


def request(name: str) -> DbBackupRequest:
    return DbBackupRequest(name, DatabaseRef("shop", pod="pg-0"), ("shop",), PASSWORD)


def test_a_database_backup_is_completed_and_deleted_with_its_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeServer()
    monkeypatch.setattr(postgres, "open_exec", fake.open_exec)
    target = location()
    outcome = backup_database(cluster().client(), target, request("nightly"))
    assert all(s.stdin.startswith(b"s3cret\n") for s in fake.streams), "the Secret's only key is the password"
    reader = BackupReader(target.store, "nightly")
    reader.verify()
    assert reader.manifest["phase"] == "Completed"
    [record] = reader.volumes()
    assert (record["method"], record["pvc"], record["snapshotHandle"]) == \
        ("postgresql", "data-pg-0", outcome.record["snapshotHandle"])
    assert record["database"]["databases"][0]["tables"] == {"public.orders": 3}

    delete_backup(None, target, "nightly", repo_password=PASSWORD)
    repo = location_repository.repository(target.store, PASSWORD, create=False)
    assert list_snapshots(repo) == [], "the dumps' snapshot goes with the backup"


def test_a_failed_dump_leaves_no_backup(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeServer(COUNTS + 'pg_dump: error: killed\nsalvage: {"dumpExit": 137}\n')
    monkeypatch.setattr(postgres, "open_exec", fake.open_exec)
    target = location()
    with pytest.raises(postgres.DatabaseError, match="exit code 137: pg_dump: error: killed"):
        backup_database(cluster().client(), target, request("nightly"))
    assert [k for k in target.store.list("") if not k.key.startswith("repository/")] == [], "no backup object"
    repo = location_repository.repository(target.store, PASSWORD, create=False)
    assert list_snapshots(repo) == []


def test_verify_refuses_a_query_of_a_database_the_backup_lacks_before_starting_anything(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "open_exec", FakeServer().open_exec)
    target, api = location(), cluster()
    backup_database(api.client(), target, request("nightly"))
    before = dict(api.objects)
    with pytest.raises(UsageError, match="no dump of database 'crm' to query; nothing was started") as refused:
        verify_database(api.client(), target, DbVerifyRequest("nightly", queries=(("crm", "SELECT 1"),),
                                                              repo_password=PASSWORD))
    assert "It has: shop" in str(refused.value.hint)
    assert api.objects == before, "no scratch namespace, no pod"


@pytest.mark.parametrize(("output", "error", "ok"), [
    ("t", "", True), ("42", "", True), ("f", "", False), ("false|x", "", False), ("", "ERROR: syntax", False),
    ("f\nt", "", False), ("", "", True),
])
def test_a_query_check_fails_when_it_errors_or_says_false(output: str, error: str, ok: bool) -> None:
    assert QueryCheck("shop", "SELECT ...", output, error).ok is ok
