"""Database backups on their own: dump a PostgreSQL server into a backup, restore a backup's
dumps into a running server, and prove a backup restores (a scratch server, row counts).

The work itself is volumes/postgres.py's; this engine finds the server (a pod, or a
StatefulSet's first pod), its password (a Secret), and writes the catalog backup: one
volume record of method ``postgresql``, the manifest last, and only after every dump
succeeded, so a failed dump leaves no backup at all, never a Completed one.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import zstandard

from salvage.catalog import layout
from salvage.catalog.reader import BackupReader
from salvage.catalog.backup_records import Manifest, VolumeRecord
from salvage.catalog.writer import BackupWriter
from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import poll
from salvage.locations import Location
from salvage.model.errors import KubernetesError, NotFoundError, SalvageError, UsageError
from salvage.volumes import location_repository, postgres
from salvage.volumes.postgres import DatabaseError, RestoreOptions, SecretRef, Server

Report = Callable[[str], None]


@dataclass(frozen=True)
class DatabaseRef:
    """Where a server runs and how to log in; unset fields come from its annotations."""

    namespace: str
    pod: str | None = None
    statefulset: str | None = None
    secret: str | None = None  # NAME or NAME/KEY
    user: str | None = None
    container: str | None = None


@dataclass(frozen=True)
class DbBackupRequest:
    name: str
    database: DatabaseRef
    databases: tuple[str, ...] = ()
    repo_password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DbBackupOutcome:
    name: str
    record: VolumeRecord
    bytes_added: int
    seconds: float


def find_pod(client: KubeClient, ref: DatabaseRef) -> dict[str, Any]:
    """The server's pod: the one named, or the StatefulSet's ordinal 0; it must run."""
    if bool(ref.pod) == bool(ref.statefulset):
        raise UsageError("Name the database's pod or its StatefulSet (one of them).",
                         hint="e.g. --pod pg-0, or --statefulset pg.")
    name = ref.pod or f"{ref.statefulset}-0"
    try:
        pod = client.get(core("pods", ref.namespace, name))
    except KubernetesError as exc:
        if exc.status == 404:
            raise NotFoundError(f"Pod {ref.namespace}/{name} does not exist.",
                                hint="Check the namespace and name with `kubectl get pods`.") from exc
        raise
    if pod.get("status", {}).get("phase") != "Running":
        raise DatabaseError(f"Pod {ref.namespace}/{name} is {pod.get('status', {}).get('phase', 'not running')}; "
                            "its database cannot be reached.", hint="Wait until it runs, or see its events.")
    return pod


def resolve(client: KubeClient, ref: DatabaseRef) -> tuple[Server, dict[str, str]]:
    """The server (with its password read from the Secret) and the annotations that described it."""
    pod = find_pod(client, ref)
    annotations = postgres.annotations_of(pod, postgres.owner_of(client, pod))
    overrides = {postgres.SECRET_ANNOTATION: ref.secret, postgres.USER_ANNOTATION: ref.user,
                 postgres.CONTAINER_ANNOTATION: ref.container}
    annotations.update({k: v for k, v in overrides.items() if v})
    if ref.secret:
        SecretRef.parse(ref.secret)
    return postgres.server_from_annotations(client, pod, annotations), annotations


def backup_database(client: KubeClient, location: Location, request: DbBackupRequest,
                    report: Report = lambda _m: None) -> DbBackupOutcome:
    if location.spec.read_only:
        raise UsageError(f"Location {location.name!r} is ReadOnly; backups cannot be written to it.",
                         hint="Choose a ReadWrite location with --location.")
    location_repository.require_password(request.repo_password)
    started, started_at = time.monotonic(), _now()
    writer = BackupWriter(location.store, request.name)  # refuses a name in use before any dump
    server, annotations = resolve(client, request.database)
    repo = location_repository.repository(location.store, request.repo_password, create=True)
    result = postgres.dump(client, server, repo, tags=[f"backup={request.name}", f"pod={server.namespace}/{server.pod}"],
                           databases=request.databases or postgres.listed_databases(annotations), report=report)
    pod = client.get(core("pods", server.namespace, server.pod))
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"].get("volumes") or []
              if v.get("persistentVolumeClaim")]
    record: VolumeRecord = {"namespace": server.namespace, "pvc": claims[0] if claims else "", "method": postgres.METHOD,
                            "snapshotHandle": result.snapshot_id, "restoreSize": 0, "database": result.database}
    seconds = time.monotonic() - started
    writer.put_json(layout.volumes(request.name), [record])
    writer.put_json(layout.result(request.name), {"phase": "Completed", "items": 0, "warnings": [], "errors": [],
                                                  "durationSeconds": round(seconds, 3)})
    names = ", ".join(d["name"] for d in result.database["databases"])
    line = {"time": _now(), "level": "info",
            "message": f"dumped {names} of {server.where} into repository snapshot {result.snapshot_id[:8]}"}
    writer.put(layout.log(request.name), zstandard.ZstdCompressor().compress((json.dumps(line) + "\n").encode()))
    manifest: Manifest = {
        "formatVersion": layout.FORMAT_VERSION, "kind": "Backup", "name": request.name, "phase": "Completed",
        "startedAt": started_at, "completedAt": _now(), "expiresAt": None,
        "cluster": {"server": client.connection.server, "version": None},
        "spec": {"database": {"namespace": server.namespace, "pod": server.pod, "databases": list(request.databases)}},
        "resources": [], "files": {},
    }
    writer.finish(manifest)
    return DbBackupOutcome(request.name, record, result.bytes_added, seconds)


@dataclass(frozen=True)
class DbRestoreRequest:
    backup: str
    target: DatabaseRef | None = None  # default: the server the dump came from
    source: str | None = None  # NAMESPACE/POD of the dump, when the backup has several
    options: RestoreOptions = field(default_factory=RestoreOptions)
    repo_password: str | None = field(default=None, repr=False)


def database_records(location: Location, backup: str) -> list[VolumeRecord]:
    reader = BackupReader(location.store, backup)
    reader.verify()
    records = [v for v in reader.volumes() if v.get("method") == postgres.METHOD]
    if not records:
        raise NotFoundError(f"Backup {backup!r} has no database dump.",
                            hint=f"See `salvage backup describe {backup}`; back a database up with `salvage db backup`.")
    return records


def pick_record(records: list[VolumeRecord], source: str | None, backup: str) -> VolumeRecord:
    def label(r: VolumeRecord) -> str:
        return f"{r.get('namespace')}/{(r.get('database') or {}).get('pod')}"

    chosen = [r for r in records if source in (None, label(r))]
    if len(chosen) != 1:
        raise UsageError(f"Backup {backup!r} holds dumps of {', '.join(map(label, records))}; "
                         + ("none is " + repr(source) if source else "choose one") + ".",
                         hint="Pass --source NAMESPACE/POD.")
    return chosen[0]


def restore_database(client: KubeClient, location: Location, request: DbRestoreRequest,
                     report: Report = lambda _m: None) -> list[str]:
    record = pick_record(database_records(location, request.backup), request.source, request.backup)
    dumped_pod = (record.get("database") or {}).get("pod")
    target = request.target or DatabaseRef(str(record.get("namespace")))
    if not (target.pod or target.statefulset):
        target = replace(target, pod=dumped_pod)  # the same pod name, maybe in another namespace
    server, _ = resolve(client, target)
    repo = location_repository.repository(location.store, request.repo_password, create=False, read_only=True)
    return postgres.restore(client, server, repo, record, request.options, report)


@dataclass(frozen=True)
class DbVerifyRequest:
    backup: str
    image: str | None = None  # default: postgres:MAJOR (the dump's server version)
    source: str | None = None
    jobs: int = 2
    timeout: float = 300.0
    repo_password: str | None = field(default=None, repr=False)
    queries: tuple[tuple[str, str], ...] = ()  # (database, SQL) run after the restore


@dataclass(frozen=True)
class QueryCheck:
    """A user's query in the restored scratch server: it fails when it errors or its first
    value is false (so ``SELECT count(*) > 0 FROM orders`` is an assertion)."""

    database: str
    sql: str
    output: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.output.strip().split("\n", 1)[0].split("|", 1)[0] not in ("f", "false")


@dataclass(frozen=True)
class TableCheck:
    database: str
    table: str
    recorded: int
    restored: int | None  # None: the table is missing after the restore


@dataclass(frozen=True)
class DbVerifyOutcome:
    backup: str
    namespace: str
    databases: list[str]
    tables: list[TableCheck]
    seconds: float
    queries: list[QueryCheck] = field(default_factory=list)

    @property
    def mismatches(self) -> list[TableCheck]:
        return [t for t in self.tables if t.restored != t.recorded]

    @property
    def failed_queries(self) -> list[QueryCheck]:
        return [q for q in self.queries if not q.ok]


SCRATCH_PASSWORD = "scratch"  # the scratch server trusts local connections; the password goes unused


def verify_database(client: KubeClient, location: Location, request: DbVerifyRequest,
                    report: Report = lambda _m: None) -> DbVerifyOutcome:
    """Restore the backup's dumps into a scratch server in a scratch namespace, compare every
    table's row count with the count recorded at dump time; the namespace goes in any case."""
    started = time.monotonic()
    record = pick_record(database_records(location, request.backup), request.source, request.backup)
    database: dict[str, Any] = record.get("database") or {}
    repo = location_repository.repository(location.store, request.repo_password, create=False, read_only=True)
    dumped = [e["name"] for e in database.get("databases", [])]
    unknown = sorted({d for d, _ in request.queries} - set(dumped))
    if unknown:
        raise UsageError(f"Backup {request.backup!r} has no dump of database {', '.join(map(repr, unknown))} "
                         "to query; nothing was started.", hint=f"It has: {', '.join(dumped)}.")
    image = request.image or f"postgres:{str(database.get('serverVersion') or '15').split('.')[0]}"
    namespace = f"salvage-verify-{uuid.uuid4().hex[:8]}"
    client.create(core("namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": namespace, "labels": {"salvage.io/scratch": "verify"}}})
    try:
        report(f"starting a scratch PostgreSQL ({image}) in namespace {namespace}")
        client.create(core("pods", namespace), scratch_pod(image))
        server = Server(namespace, "postgres", SCRATCH_PASSWORD)
        _wait_for_server(client, server, request.timeout)
        restored = postgres.restore(client, server, repo, record,
                                    RestoreOptions(jobs=request.jobs, scratch_dir="/scratch"), report)
        checks = count_checks(client, server, record, restored, report)
        queries = [_query(client, server, name, sql, report) for name, sql in request.queries]
        return DbVerifyOutcome(request.backup, namespace, restored, checks, time.monotonic() - started, queries)
    finally:
        report(f"removing namespace {namespace}")
        try:
            client.delete(core("namespaces", None, namespace))
        except KubernetesError:
            pass


def _query(client: KubeClient, server: Server, database: str, sql: str, report: Report) -> QueryCheck:
    report(f"querying database {database}: {sql}")
    statement = sql if sql.rstrip().endswith(";") else sql + ";"
    try:
        out = postgres.run_psql(client, server, statement, database=database, doing=f"A query in database {database!r}")
    except DatabaseError as exc:
        return QueryCheck(database, sql, "", exc.message)
    return QueryCheck(database, sql, out.strip())


def count_checks(client: KubeClient, server: Server, record: VolumeRecord, restored: list[str],
                 report: Report = lambda _m: None) -> list[TableCheck]:
    """Every table's row count in ``server`` (databases ``restored`` from ``record``) beside
    the count recorded at dump time; ``db verify`` and drills compare them."""
    checks = []
    for entry in (record.get("database") or {}).get("databases", []):  # type: ignore[attr-defined]
        if entry["name"] not in restored:
            continue
        report(f"counting rows in database {entry['name']}")
        counts = postgres.count_rows(client, server, entry["name"])
        checks += [TableCheck(entry["name"], table, rows, counts.get(table))
                   for table, rows in sorted(entry.get("tables", {}).items())]
    return checks


def scratch_pod(image: str) -> dict[str, Any]:
    script = ("initdb -D /scratch/db -U postgres --auth=trust >/scratch/initdb.log 2>&1 || "
              "{ cat /scratch/initdb.log; exit 1; }\n"
              "exec postgres -D /scratch/db -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off")
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "postgres", "labels": {"salvage.io/scratch": "verify"}},
        "spec": {
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "postgres", "image": image, "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", script],
                            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
        },
    }


def _wait_for_server(client: KubeClient, server: Server, timeout: float) -> None:
    def ready() -> bool:
        pod = client.get(core("pods", server.namespace, server.pod))
        phase = pod.get("status", {}).get("phase")
        if phase in ("Failed", "Succeeded"):
            raise DatabaseError(f"The scratch PostgreSQL in {server.namespace} stopped ({phase}).",
                                hint="Is --image a PostgreSQL image whose default user may run initdb?")
        if phase != "Running":
            return False
        try:
            postgres.server_facts(client, server)
            return True
        except SalvageError:
            return False

    if not poll(ready, time.monotonic() + timeout, interval=1.0):
        raise DatabaseError(f"The scratch PostgreSQL in namespace {server.namespace} did not accept connections "
                            f"within {timeout:g}s.", hint="Raise --timeout, or check the image with --image.")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
