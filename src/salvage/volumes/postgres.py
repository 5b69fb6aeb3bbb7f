"""The ``postgresql`` method: logical dumps of a PostgreSQL server into the location's
repository, and their restore.

Everything runs in the database's own container through the exec subresource: its
``pg_dump`` is the server's own version (a newer or older client refuses or loses
things), no network path or Service is needed, and the same works for any pod the
operator is allowed to exec into. The dumps stream from the container's stdout straight
into the repository (chunked, deduplicated against earlier days, encrypted): nothing is
staged on a disk. One backup is one repository snapshot: ``globals.sql`` (roles,
tablespaces: ``pg_dumpall --globals-only``) and one ``pg_dump -Fc`` per database, each
with its size and SHA-256, the server version, and every table's row count counted inside
the very snapshot the dump used (postgres_scripts.dump_session). Any failure, a non-zero
exit or a connection that ends without one, raises: no snapshot is written and no
record claims the data.

For ``salvage backup create`` a claim gets this method when the pod mounting it (or that
pod's StatefulSet) is annotated ``backup.salvage.io/database: postgresql``; the password
comes from the Secret ``backup.salvage.io/database-secret`` names. The restored claim starts
empty (the server initialises it), and the dumps are restored once the server runs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from salvage.catalog.backup_records import VolumeRecord
from salvage.k8s.api_groups import apps, core
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import ExecResult, ExecStream, exec_in_pod, open_exec
from salvage.model.errors import KubernetesError, NotFoundError, SalvageError, UsageError
from salvage.model.progress import Step
from salvage.repo.preflight import check_restorable
from salvage.repo.repository import Repository
from salvage.repo.snapshots import find_snapshot
from salvage.repo.streams import StreamedFile, StreamedSnapshot, read_streamed, streamed_files
from salvage.storage.errors import StorageError
from salvage.volumes import location_repository
from salvage.volumes import postgres_scripts as scripts
from salvage.volumes.method import JSON, ClaimSource, MethodContext, claim_record

METHOD = "postgresql"
ANNOTATION = "backup.salvage.io/database"
SECRET_ANNOTATION = "backup.salvage.io/database-secret"  # NAME or NAME/KEY
USER_ANNOTATION = "backup.salvage.io/database-user"
CONTAINER_ANNOTATION = "backup.salvage.io/database-container"
DATABASES_ANNOTATION = "backup.salvage.io/databases"  # comma-separated; default: all
DEFAULT_USER = "postgres"
_SECRET_KEYS = ("password", "postgres-password", "POSTGRES_PASSWORD")
GLOBALS_FILE = "globals.sql"

Report = Callable[[str], None]


class DatabaseError(SalvageError):
    """A database could not be dumped or restored."""


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server reached through exec in its pod."""

    namespace: str
    pod: str
    password: str = field(repr=False)
    user: str = DEFAULT_USER
    container: str | None = None
    host: str = "127.0.0.1"
    port: int = 5432

    @property
    def where(self) -> str:
        return f"PostgreSQL in pod {self.namespace}/{self.pod}"

    def args(self, database: str = "postgres") -> tuple[str, ...]:
        return (self.host, str(self.port), self.user, database)


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str | None = None

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        name, _, key = text.partition("/")
        if not name:
            raise UsageError(f"Secret reference {text!r} has no name.", hint="Write NAME or NAME/KEY.")
        return cls(name, key or None)

    def __str__(self) -> str:
        return f"{self.name}/{self.key}" if self.key else self.name


def secret_password(client: KubeClient, namespace: str, ref: SecretRef) -> str:
    """The password in a Secret: its ``key``, else the only key, else a usual name."""
    try:
        data = client.get(core("secrets", namespace, ref.name)).get("data") or {}
    except KubernetesError as exc:
        if exc.status == 404:
            raise NotFoundError(f"Secret {namespace}/{ref.name} (the database password) does not exist.",
                                hint="Create it, or name another with --secret NAME[/KEY].") from exc
        raise
    key = ref.key or (next(iter(data)) if len(data) == 1 else next((k for k in _SECRET_KEYS if k in data), None))
    if key is None or key not in data:
        raise UsageError(f"Secret {namespace}/{ref.name} has no key {key or 'password'!r} "
                         f"(it has: {', '.join(sorted(data)) or 'none'}).",
                         hint=f"Name the key: --secret {ref.name}/KEY.")
    password = base64.b64decode(data[key]).decode()
    if "\n" in password.rstrip("\n"):
        raise UsageError(f"The password in Secret {namespace}/{ref.name} has a line break; Salvage cannot pass it.")
    return password.rstrip("\n")


# -- running scripts in the container ---------------------------------------------------


@contextlib.contextmanager
def _start(client: KubeClient, server: Server, script: str, *args: str, database: str = "postgres",
           idle_timeout: float = 300.0) -> Iterator[ExecStream]:
    """``script`` running in the database's container; if the block fails (a full store, a
    cut stream, Ctrl-C), the script's processes are ended in the container once the
    connection is closed, so no dump goes on holding a session and its snapshot."""
    run = uuid.uuid4().hex[:16]
    try:
        with open_exec(client, server.namespace, server.pod,
                       scripts.command(script, server.args(database), *args, run=run),
                       container=server.container, stdin=True, idle_timeout=idle_timeout) as stream:
            yield stream
    except BaseException:
        _stop_run(client, server, run)
        raise


def _stop_run(client: KubeClient, server: Server, run: str) -> None:
    """End every process of ``run`` in the container; best effort (the pod may be gone, or
    the API server unreachable: then there is nothing more this run can do)."""
    with contextlib.suppress(KubernetesError):
        exec_in_pod(client, server.namespace, server.pod, ["sh", "-c", scripts.STOP_RUN, "sh", run],
                    container=server.container, timeout=30.0)


def _begin(stream: ExecStream, server: Server, stdin_text: str = "") -> None:
    stream.write((server.password + "\n" + stdin_text).encode())


def _fail(server: Server, doing: str, result: ExecResult, report: scripts.Report) -> DatabaseError:
    said = report.message() or result.message or "no message"
    code = "without an exit status" if result.exit_code is None else f"with exit code {result.exit_code}"
    return DatabaseError(f"{doing} in {server.where} failed {code}: {said}",
                         hint=_hint(said))


def _hint(said: str) -> str:
    if "password authentication failed" in said or "no password supplied" in said:
        return "Check the Secret holds the password of the database user (--secret NAME/KEY, --user)."
    if 'database "' in said and "does not exist" in said:
        return "The database was dropped or renamed while the backup ran; nothing was saved. Back up again."
    if "terminating connection due to administrator command" in said or "closed the connection" in said:
        return ("The server ended the session (the database dropped WITH (FORCE), pg_terminate_backend, "
                "or a restart); nothing was saved. Back up again.")
    if "Connection refused" in said or "could not connect" in said or "No such file" in said:
        return "Is the server running and listening on 127.0.0.1? See the pod's logs."
    return "See the message above; the server's log may say more."


def run_psql(client: KubeClient, server: Server, sql: str, *, database: str = "postgres",
             doing: str = "A query") -> str:
    """Run SQL through psql in the container; its stdout (unaligned, tuples only)."""
    with _start(client, server, scripts.PSQL, database=database) as stream:
        _begin(stream, server, sql + "\n\\q\n")
        out = stream.read().decode(errors="replace")
        result = stream.wait()
    if not result.ok:
        raise _fail(server, doing, result, scripts.read_report(result.stderr))
    return out


def server_facts(client: KubeClient, server: Server) -> dict[str, Any]:
    """``{"version": ..., "databases": [...]}``; also proves the password works."""
    out = run_psql(client, server, scripts.SERVER_FACTS, doing="Connecting")
    return dict(json.loads(out.strip().splitlines()[-1]))


# -- dump --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DumpResult:
    snapshot_id: str
    database: JSON  # the record's ``database`` entry
    bytes_added: int
    total_bytes: int


def dump(client: KubeClient, server: Server, repo: Repository, *, tags: list[str],
         databases: Sequence[str] = (), report: Report = lambda _m: None) -> DumpResult:
    """Globals and each database (all that allow connections, or ``databases``) into one
    repository snapshot; raises (writing no snapshot) if any part fails."""
    facts = server_facts(client, server)
    existing = list(facts.get("databases") or [])
    wanted = list(databases) or existing
    missing = [d for d in wanted if d not in existing]
    if missing:
        raise NotFoundError(f"{server.where} has no database {', '.join(map(repr, missing))}.",
                            hint=f"It has: {', '.join(existing)}.")
    entries: list[JSON] = []
    with StreamedSnapshot(repo, path=f"/postgresql/{server.namespace}/{server.pod}", tags=tags) as snapshot:
        report("dumping roles and tablespaces (pg_dumpall --globals-only)")
        with _start(client, server, scripts.GLOBALS) as stream:
            _begin(stream, server)
            stored = _store(snapshot, GLOBALS_FILE, stream, f"The roles and tablespaces of {server.where}")
            _check(server, "pg_dumpall --globals-only", stream.wait(), None)
        globals_entry = {"file": GLOBALS_FILE, "size": stored.size, "sha256": stored.sha256}
        for number, name in enumerate(wanted, 1):
            report(f"dumping database {name} ({number} of {len(wanted)})")
            file = f"database-{number}.dump"
            with _start(client, server, scripts.PSQL, database=name) as stream:
                _begin(stream, server, scripts.dump_session())
                stream.stdout_size = scripts.reported_size
                stored = _store(snapshot, file, stream, f"The dump of database {name!r} in {server.where}")
                stream.write(scripts.ACK)
                said = _check(server, f"pg_dump of database {name!r}", stream.wait(), "dumpExit",
                              f"no exit status of pg_dump arrived, after {stored.size} bytes of its dump")
            if said.get("bytes") != stored.size:
                raise DatabaseError(f"The dump of database {name!r} in {server.where} was cut on its way: "
                                    f"{stored.size} of its {said.get('bytes')} bytes arrived.",
                                    hint="Nothing was saved. Try again; if it recurs, see the API server's log.")
            entries.append({"name": name, "file": file, "size": stored.size, "sha256": stored.sha256,
                            "databaseSize": said.get("size"), "tables": said.rows()})
            report(f"database {name}: {stored.size} bytes dumped, {len(said.rows())} tables counted")
        try:
            result = snapshot.commit()
        except StorageError as exc:
            raise DatabaseError(f"The dumps of {server.where} could not be stored in the location's repository: "
                                f"{exc.message}; nothing was saved.", hint=exc.hint) from exc
    record = {"engine": METHOD, "serverVersion": facts.get("version"), "pod": server.pod, "user": server.user,
              "globals": globals_entry, "databases": entries}
    return DumpResult(result.snapshot_id, record, result.summary["bytes_added"], result.summary["total_bytes"])


def _store(snapshot: StreamedSnapshot, file: str, stream: ExecStream, what: str) -> StreamedFile:
    """``stream`` into the snapshot; a store that refuses it (full, unreachable) is named
    with what was being dumped. Leaving ``_start``'s block so ends the dump in the container."""
    try:
        return snapshot.add(file, stream)
    except StorageError as exc:
        raise DatabaseError(f"{what} could not be stored in the location's repository: {exc.message}; "
                            "nothing was saved.", hint=exc.hint) from exc


def _check(server: Server, doing: str, result: ExecResult, exit_key: str | None,
           missing: str = "") -> scripts.Report:
    said = scripts.read_report(result.stderr)
    inner = said.get(exit_key) if exit_key else 0
    if not result.ok or inner != 0:
        if result.ok and inner is None:  # psql ended, but the dump's own report never came
            result = replace(result, exit_code=None, message=missing)
        elif result.ok:
            result = replace(result, exit_code=inner)
        raise _fail(server, doing, result, said)
    return said


# -- restore -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreOptions:
    jobs: int = 2
    clean: bool = False
    databases: tuple[str, ...] = ()  # default: every database in the backup
    scratch_dir: str = "/tmp"  # in the container: the dump is written there for pg_restore --jobs


def restore(client: KubeClient, server: Server, repo: Repository, record: VolumeRecord, options: RestoreOptions,
            report: Report = lambda _m: None) -> list[str]:
    """Globals, then each database (``pg_restore --jobs``); returns the databases restored.

    Every refusal (a database that holds data, without ``clean``) is raised before the
    first change."""
    database: JSON = record.get("database") or {}  # type: ignore[assignment]
    snapshot = find_snapshot(repo, str(record["snapshotHandle"]))
    files = streamed_files(repo, snapshot)
    entries = [e for e in database.get("databases", []) if not options.databases or e["name"] in options.databases]
    unknown = set(options.databases) - {e["name"] for e in entries}
    if unknown:
        raise NotFoundError(f"The backup has no database {', '.join(map(repr, sorted(unknown)))}.",
                            hint=f"It has: {', '.join(e['name'] for e in database.get('databases', []))}.")
    facts = server_facts(client, server)
    existing = set(facts.get("databases") or [])
    holding = [e["name"] for e in entries if e["name"] in existing and _holds_data(client, server, e["name"])]
    if holding and not options.clean:
        raise UsageError(
            f"{server.where}: database(s) {', '.join(holding)} hold data already; nothing was restored.",
            hint="Restore into another server (--target-*), or pass --clean to drop and re-create them.")
    report("restoring roles and tablespaces")
    roles = set(filter(None, run_psql(client, server, "SELECT rolname FROM pg_roles;").splitlines()))
    sql = b"".join(read_streamed(repo, files[database["globals"]["file"]])).decode()
    run_psql(client, server, "\\set ON_ERROR_STOP on\n" + scripts.globals_for(sql, roles, server.user),
             doing="Restoring roles and tablespaces")
    for entry in entries:
        name = entry["name"]
        if name in existing and (options.clean and name in holding):
            report(f"dropping database {name} (--clean)")
            run_psql(client, server, f"DROP DATABASE {scripts.quote_ident(name)} WITH (FORCE);",
                     database="template1", doing=f"Dropping database {name!r}")
            create = True
        else:
            create = name not in existing
        report(f"restoring database {name} (pg_restore --jobs {options.jobs})")
        _restore_one(client, server, repo, files[entry["file"]], entry, options, create=create)
    return [e["name"] for e in entries]


def _holds_data(client: KubeClient, server: Server, database: str) -> bool:
    counts = json.loads(run_psql(client, server, scripts.HOLDS_DATA, database=database,
                                 doing=f"Looking into database {database!r}").strip().splitlines()[-1])
    return bool(counts["relations"] or counts["largeObjects"])


def _restore_one(client: KubeClient, server: Server, repo: Repository, node: Any, entry: JSON,
                 options: RestoreOptions, *, create: bool) -> None:
    target = ["--create", "--dbname=template1"] if create else [f"--dbname={entry['name']}"]
    connect_to = "template1" if create else entry["name"]
    size = int(node.get("size", 0))
    with _start(client, server, scripts.RESTORE, str(size), str(options.jobs), options.scratch_dir, *target,
                database=connect_to, idle_timeout=3600.0) as stream:
        _begin(stream, server)
        for chunk in read_streamed(repo, node):
            stream.write(chunk)
        stream.close_stdin()
        result = stream.wait()
    said = scripts.read_report(result.stderr)
    if not result.ok:
        raise _fail(server, f"pg_restore of database {entry['name']!r}", result, said)


def count_rows(client: KubeClient, server: Server, database: str) -> dict[str, int]:
    out = run_psql(client, server, scripts.count_session(), database=database,
                   doing=f"Counting rows in database {database!r}")
    return scripts.rows_from_stdout(out)


# -- finding the server a claim belongs to -------------------------------------------------


def annotations_of(pod: JSON, owner: JSON | None) -> dict[str, str]:
    """The database annotations: the pod's, else its StatefulSet's."""
    merged = dict((owner or {}).get("metadata", {}).get("annotations") or {})
    merged.update(pod.get("metadata", {}).get("annotations") or {})
    return merged


def is_database(annotations: dict[str, str]) -> bool:
    return annotations.get(ANNOTATION, "").lower() in ("postgresql", "postgres")


def pods_mounting(pods: Sequence[JSON], claim: str) -> list[JSON]:
    return [p for p in pods if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim
                                   for v in p.get("spec", {}).get("volumes") or [])]


def owner_of(client: KubeClient, pod: JSON) -> JSON | None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "StatefulSet":
            try:
                return client.get(apps("statefulsets", pod["metadata"]["namespace"], ref["name"]))
            except KubernetesError:
                return None
    return None


def server_from_annotations(client: KubeClient, pod: JSON, annotations: dict[str, str]) -> Server:
    meta = pod["metadata"]
    secret = annotations.get(SECRET_ANNOTATION)
    if not secret:
        raise UsageError(f"Pod {meta['namespace']}/{meta['name']} is a PostgreSQL database for Salvage but names "
                         f"no Secret with its password.",
                         hint=f"Annotate it (or its StatefulSet) {SECRET_ANNOTATION}: NAME[/KEY].")
    return Server(meta["namespace"], meta["name"], secret_password(client, meta["namespace"], SecretRef.parse(secret)),
                  user=annotations.get(USER_ANNOTATION) or DEFAULT_USER,
                  container=annotations.get(CONTAINER_ANNOTATION))


def listed_databases(annotations: dict[str, str]) -> tuple[str, ...]:
    return tuple(d.strip() for d in annotations.get(DATABASES_ANNOTATION, "").split(",") if d.strip())


class PostgresMethod:
    """The ``postgresql`` method (:class:`salvage.volumes.method.VolumeMethod`) for a claim
    whose pod runs an annotated PostgreSQL: dumps, not the volume's blocks or files."""

    name = METHOD
    check_reads_data = True

    def __init__(self, context: MethodContext) -> None:
        self.context = context
        self._repository: Repository | None = None

    def repository(self) -> Repository:
        """The location's repository (the ``fs`` method's too), opened on first use."""
        if self._repository is None:
            self._repository = location_repository.for_method(self.context, "Database dumps")
        return self._repository

    def check_capture(self) -> None:
        location_repository.require_password(self.context.repo_password)

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float) -> VolumeRecord:
        client = self.context.kube()
        meta = claim["metadata"]
        record = claim_record(claim, pv)
        pods = [p for p in pods_mounting(client.list(core("pods", meta["namespace"])), meta["name"])
                if p.get("status", {}).get("phase") == "Running"]
        if not pods:
            record.update(method="none", error="no running pod mounts it, so its database cannot be dumped")
            return record
        annotations = annotations_of(pods[0], owner_of(client, pods[0]))
        server = server_from_annotations(client, pods[0], annotations)
        result = dump(client, server, self.repository(),
                      tags=[f"backup={backup}", f"pvc={meta['namespace']}/{meta['name']}"],
                      databases=listed_databases(annotations),
                      report=lambda m: self.context.progress(Step(m)))
        record.update(method=METHOD, snapshotHandle=result.snapshot_id, restoreSize=0, database=result.database)
        return record

    def check_restore(self, records: Sequence[VolumeRecord]) -> None:
        files = {str(r["snapshotHandle"]): f"database of {r.get('namespace')}/{r.get('pvc')}" for r in records}
        if files:
            check_restorable(self.repository(), files, read_data=self.context.verify_data)

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, owner: str,
                timeout: float) -> ClaimSource:
        # An empty claim: the server initialises it; the dumps go in once it runs.
        name = claim["metadata"]["name"]
        return ClaimSource(after_ready=lambda: self._load(record, namespace, name))

    def _load(self, record: VolumeRecord, namespace: str, claim: str) -> str:
        client = self.context.kube()
        pods = [p for p in pods_mounting(client.list(core("pods", namespace)), claim)
                if p.get("status", {}).get("phase") == "Running"]
        if not pods:
            raise DatabaseError(f"No running pod mounts the restored claim {namespace}/{claim}, so its databases "
                                "were not restored.",
                                hint="Once its server runs: `salvage db restore BACKUP --target-namespace "
                                     f"{namespace} --target-pod POD`.")
        server = server_from_annotations(client, pods[0], annotations_of(pods[0], owner_of(client, pods[0])))
        restored = restore(client, server, self.repository(), record, RestoreOptions(),
                           lambda m: self.context.progress(Step(m)))
        return f"restored database(s) {', '.join(restored)} into {server.where}"

    def delete_captured(self, record: VolumeRecord) -> bool:
        return False  # forgotten with the ``fs`` snapshots, in one pass (engines/deletion.py)

    def describe(self, record: VolumeRecord) -> str:
        names = ", ".join(d["name"] for d in (record.get("database") or {}).get("databases", []))  # type: ignore[attr-defined]
        return f"an empty volume, then PostgreSQL dumps ({names}) from repository snapshot " \
               f"{str(record.get('snapshotHandle'))[:8]}"
