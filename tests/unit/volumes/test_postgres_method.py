"""The postgresql method's dump and its failures, with the container's answers faked
(the real server: tests/integration/engines/test_postgres.py)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from salvage.k8s.exec import ExecResult
from salvage.repo.repository import Repository
from salvage.repo.snapshots import find_snapshot, list_snapshots
from salvage.repo.streams import StreamedSnapshot, read_streamed, streamed_files
from salvage.storage.errors import StorageError
from salvage.volumes import postgres
from salvage.volumes import postgres_scripts as scripts
from tests.unit.repo.conftest import make_repo

FACTS = b'{"version" : "15.8", "databases" : ["postgres", "shop"]}\n'
DUMP = b"PGDMP" + bytes(range(256)) * 400
COUNTS = 'salvage: {"size": 7000}\nsalvage: {"table" : "public.orders", "rows" : 3}\n'


def shell(command: list[str]) -> list[str]:
    """``sh -c SCRIPT sh ARGS...`` of a command, after its run mark (``env SALVAGE_RUN=...``)."""
    assert command[0] == "env" and command[1].startswith(f"{scripts.RUN_VARIABLE}="), command
    return command[2:]


class FakeStream:
    def __init__(self, stdout: bytes, result: ExecResult) -> None:
        self.out, self.result, self.stdin = io.BytesIO(stdout), result, b""

    def write(self, data: bytes) -> None:
        self.stdin += data

    def close_stdin(self) -> None:
        pass

    def readinto(self, buffer: memoryview) -> int:
        return self.out.readinto(buffer)

    def read(self, size: int = -1) -> bytes:
        return self.out.read(size)

    def wait(self) -> ExecResult:
        return self.result


class FakeServer:
    """Answers each script as the container would; ``dump_stderr`` is the database dumps' stderr."""

    def __init__(self, dump_stderr: str = COUNTS + f'salvage: {{"dumpExit": 0, "bytes": {len(DUMP)}}}\n',
                 dump_code: int | None = 0) -> None:
        self.dump_stderr, self.dump_code, self.streams = dump_stderr, dump_code, []
        self.commands: list[list[str]] = []

    @contextlib.contextmanager
    def open_exec(self, _client: Any, _ns: str, _pod: str, command: list[str], **_kw: Any) -> Iterator[FakeStream]:
        self.commands.append(command)
        script, database = shell(command)[2], shell(command)[7]
        if script == scripts.GLOBALS:
            stream = FakeStream(b"CREATE ROLE app;\n", ExecResult(0, "", ""))
        elif database == "shop":
            stream = FakeStream(DUMP, ExecResult(self.dump_code, "", self.dump_stderr))
        else:
            stream = FakeStream(FACTS, ExecResult(0, "", ""))
        self.streams.append(stream)
        yield stream


@pytest.fixture(autouse=True)
def no_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed run ends its processes through an exec of its own: nothing to end here."""
    monkeypatch.setattr(postgres, "exec_in_pod", lambda *_a, **_kw: None)


@pytest.fixture
def repo() -> Repository:
    return make_repo()


SERVER = postgres.Server("ns", "pg-0", "s3cret")


def test_a_dump_records_sizes_digests_counts_and_keeps_the_password_off_the_command(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeServer()
    monkeypatch.setattr(postgres, "open_exec", fake.open_exec)
    result = postgres.dump(None, SERVER, repo, tags=["backup=b"], databases=["shop"])  # type: ignore[arg-type]
    [shop] = result.database["databases"]
    assert shop["tables"] == {"public.orders": 3} and shop["databaseSize"] == 7000 and shop["size"] == len(DUMP)
    assert result.database["serverVersion"] == "15.8" and result.database["globals"]["size"] == 17
    files = streamed_files(repo, find_snapshot(repo, result.snapshot_id))
    assert b"".join(read_streamed(repo, files[shop["file"]])) == DUMP
    assert all(s.stdin.startswith(b"s3cret\n") for s in fake.streams), "the password goes on stdin"


@pytest.mark.parametrize(("stderr", "code", "said"), [
    (COUNTS + "pg_dump: error: connection lost\nsalvage: {\"dumpExit\": 1}\n", 0, "connection lost"),
    (COUNTS, 0, "no exit status of pg_dump arrived, after 102405 bytes"),
    (COUNTS + 'salvage: {"dumpExit": 0}\n', None, "without an exit status"),
    (COUNTS + 'salvage: {"dumpExit": 0, "bytes": 999999999}\n', 0, "was cut on its way: 102405 of its 999999999"),
    ("psql: error: FATAL:  password authentication failed for user \"postgres\"\n", 2, "password authentication"),
])
def test_a_dump_that_fails_raises_and_writes_no_snapshot(repo: Repository, monkeypatch: pytest.MonkeyPatch,
                                                          stderr: str, code: int | None, said: str) -> None:
    monkeypatch.setattr(postgres, "open_exec", FakeServer(stderr, code).open_exec)
    with pytest.raises(postgres.DatabaseError) as failed:
        postgres.dump(None, SERVER, repo, tags=[], databases=["shop"])  # type: ignore[arg-type]
    assert said in failed.value.message and "database 'shop'" in failed.value.message
    assert list_snapshots(repo) == []


@pytest.mark.parametrize(("stderr", "hint"), [
    ('psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "shop" does not exist\n',
     "dropped or renamed while the backup ran"),
    (COUNTS + "pg_dump: error: Dumping the contents of table \"orders\" failed: PQgetResult() failed.\n"
     "pg_dump: error: Error message from server: FATAL:  terminating connection due to administrator command\n"
     'salvage: {"dumpExit": 1}\n', "the database dropped WITH (FORCE)"),
])
def test_a_database_dropped_before_or_during_its_dump_fails_the_dump_naming_it(
        repo: Repository, monkeypatch: pytest.MonkeyPatch, stderr: str, hint: str) -> None:
    monkeypatch.setattr(postgres, "open_exec", FakeServer(stderr, 2 if stderr.startswith("psql") else 0).open_exec)
    with pytest.raises(postgres.DatabaseError) as failed:
        postgres.dump(None, SERVER, repo, tags=[], databases=["shop"])  # type: ignore[arg-type]
    assert "pg_dump of database 'shop'" in failed.value.message and hint in (failed.value.hint or "")
    assert list_snapshots(repo) == []


def test_a_store_that_refuses_the_dump_names_the_database_and_keeps_no_snapshot(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "open_exec", FakeServer().open_exec)
    real_add = StreamedSnapshot.add

    def full(self: StreamedSnapshot, name: str, stream: object) -> object:
        if name == "database-1.dump":
            raise StorageError("no space left on the device holding /backups while writing `repository/data/ab`",
                               hint="Free space there (or use another location) and run the command again.")
        return real_add(self, name, stream)

    monkeypatch.setattr(StreamedSnapshot, "add", full)
    with pytest.raises(postgres.DatabaseError) as failed:
        postgres.dump(None, SERVER, repo, tags=[], databases=["shop"])  # type: ignore[arg-type]
    assert failed.value.message.startswith("The dump of database 'shop' in PostgreSQL in pod ns/pg-0 could not be "
                                           "stored in the location's repository: no space left on the device")
    assert "Free space" in (failed.value.hint or "")
    assert list_snapshots(repo) == []


def test_a_dump_that_fails_midway_ends_its_processes_in_the_container(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exec'd pg_dump outlives the closed connection, blocked on its stdout with its
    session open: the failed run ends the processes that carry its mark, and only those."""
    fake = FakeServer()
    monkeypatch.setattr(postgres, "open_exec", fake.open_exec)
    stopped: list[list[str]] = []
    monkeypatch.setattr(postgres, "exec_in_pod", lambda _c, _ns, _pod, command, **_kw: stopped.append(command))

    def full(self: StreamedSnapshot, name: str, stream: object) -> object:
        raise StorageError("no space left on the device holding /backups")

    monkeypatch.setattr(StreamedSnapshot, "add", full)
    with pytest.raises(postgres.DatabaseError):
        postgres.dump(None, SERVER, repo, tags=[], databases=["shop"])  # type: ignore[arg-type]
    [facts, globals_] = fake.commands
    assert facts[1] != globals_[1], "each exec is a run of its own"
    assert stopped == [["sh", "-c", scripts.STOP_RUN, "sh", globals_[1].split("=", 1)[1]]], stopped


def test_a_store_that_fails_the_last_flush_is_named_too(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "open_exec", FakeServer().open_exec)

    def full(_self: StreamedSnapshot) -> object:
        raise StorageError("no space left on the device holding /backups while writing `repository/index/x`")

    monkeypatch.setattr(StreamedSnapshot, "commit", full)
    with pytest.raises(postgres.DatabaseError, match="The dumps of PostgreSQL in pod ns/pg-0 could not be stored"):
        postgres.dump(None, SERVER, repo, tags=[], databases=["shop"])  # type: ignore[arg-type]
    assert list_snapshots(repo) == []


def test_a_database_the_server_lacks_is_named(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "open_exec", FakeServer().open_exec)
    with pytest.raises(postgres.NotFoundError, match="no database 'crm'"):
        postgres.dump(None, SERVER, repo, tags=[], databases=["crm"])  # type: ignore[arg-type]


class Restorer:
    """A target server for restores: answers by the script and its stdin, and logs what ran."""

    def __init__(self, databases: list[str], holding: set[str]) -> None:
        self.databases, self.holding, self.ran = databases, holding, []

    def answer(self, script: str, database: str, stdin: bytes) -> bytes:
        sql = stdin.decode(errors="replace")
        if script == scripts.RESTORE:
            self.ran.append(("pg_restore", database))
            return b""
        if scripts.SERVER_FACTS in sql:
            return b'{"version": "15.8", "databases": %s}\n' % json.dumps(self.databases).encode()
        if scripts.HOLDS_DATA in sql:
            held = int(database in self.holding)
            return b'{"relations": %d, "largeObjects": 0}\n' % held
        if "FROM pg_roles" in sql:
            return b"postgres\n"
        self.ran.append(("psql", sql.split("\n", 1)[1]))
        return b""

    @contextlib.contextmanager
    def open_exec(self, _client: Any, _ns: str, _pod: str, command: list[str], **_kw: Any) -> Iterator[Any]:
        restorer, script, database = self, shell(command)[2], shell(command)[7]

        class Lazy(FakeStream):
            def readinto(self, buffer: memoryview) -> int:
                if self.out is None:
                    self.out = io.BytesIO(restorer.answer(script, database, self.stdin))
                return self.out.readinto(buffer)

            def read(self, size: int = -1) -> bytes:
                self.readinto(memoryview(bytearray(0)))
                return self.out.read(size)

            def wait(self) -> ExecResult:
                self.readinto(memoryview(bytearray(0)))
                return self.result

        stream = Lazy(b"", ExecResult(0, "", ""))
        stream.out = None  # type: ignore[assignment]
        yield stream


def backed_up(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    fake = FakeServer()
    monkeypatch.setattr(postgres, "open_exec", fake.open_exec)
    result = postgres.dump(None, SERVER, repo, tags=[], databases=["shop"])  # type: ignore[arg-type]
    return {"namespace": "ns", "pvc": "data", "method": "postgresql", "snapshotHandle": result.snapshot_id,
            "database": result.database}


def test_restore_refuses_a_database_holding_data_before_any_change(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    record = backed_up(repo, monkeypatch)
    target = Restorer(["postgres", "shop"], holding={"shop"})
    monkeypatch.setattr(postgres, "open_exec", target.open_exec)
    with pytest.raises(postgres.UsageError) as refused:
        postgres.restore(None, SERVER, repo, record, postgres.RestoreOptions())  # type: ignore[arg-type]
    assert "shop" in refused.value.message and "--clean" in str(refused.value.hint)
    assert target.ran == [], "nothing was changed"


def test_restore_puts_roles_first_then_the_database_and_clean_drops_it(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    record = backed_up(repo, monkeypatch)
    target = Restorer(["postgres", "shop"], holding={"shop"})
    monkeypatch.setattr(postgres, "open_exec", target.open_exec)
    restored = postgres.restore(None, SERVER, repo, record, postgres.RestoreOptions(clean=True))  # type: ignore[arg-type]
    assert restored == ["shop"]
    assert [step[0] for step in target.ran] == ["psql", "psql", "pg_restore"]
    assert "CREATE ROLE app;" in target.ran[0][1], "roles first"
    assert target.ran[1][1].startswith("DROP DATABASE shop WITH (FORCE);")
    assert target.ran[2] == ("pg_restore", "template1"), "re-created from the dump (--create)"
