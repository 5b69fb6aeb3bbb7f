"""`salvage demo postgres`: seed 001's story, done right, narrated on the local cluster.

PostgreSQL 15 runs as a StatefulSet with its password in a Secret (seed 001's), annotated
for the ``postgresql`` method. A client logs in with its own role and keeps inserting
orders. The operator, in a pod on the real node, runs a Schedule of the namespace: its
Backup dumps the roles and every database through exec, counting each table's rows in
the dump's own snapshot. Then the namespace is deleted, ``restore create`` brings it back
(the dumps go in once the server is Ready), and the counts recorded in the backup are put
beside the counts in the restored server. The demo succeeds only when they match and the
client's role logs in again.

demo/ does not import operator/ (one layer, two front doors): the command line hands the
operator's install and uninstall over as :class:`OperatorHooks`.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salvage.catalog.reader import BackupReader
from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images import builders as images
from salvage.engines.backup_restore import RestoreRequest, restore_backup
from salvage.engines.selection import Selection
from salvage.engines.statefulset import workload_state as kube
from salvage.k8s import api_groups as api
from salvage.k8s.apply import apply
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import delete_and_wait, wait_until
from salvage.locations import Location
from salvage.model.errors import SalvageError, UsageError
from salvage.model.progress import Progress
from salvage.volumes import postgres
from salvage.volumes.postgres import Server

APP = "postgresql"
POD = f"{APP}-0"
SECRET = "postgresql"
PASSWORD = "Azure12345678"  # seed 001's database password
CLIENT_ROLE, CLIENT_PASSWORD = "shop", "shop-demo-password"
DATABASE = "shop"
SCHEDULE = "postgresql-demo"
LOCATION = "demo-postgres"
REPO_SECRET = "salvage-demo-repository"
CRON = "*/10 * * * * *"  # every 10 s: the demo waits for one firing
DATA = "/var/lib/postgresql/data"
# The server's container: initdb on first start (the bootstrap password from the Secret),
# then PostgreSQL on 127.0.0.1 only; the client and Salvage reach it in its pod.
SERVER = f"""
if [ ! -s {DATA}/db/PG_VERSION ]; then
  printf '%s\\n' "$POSTGRES_PASSWORD" > /tmp/pw
  initdb -D {DATA}/db -U postgres --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm /tmp/pw
fi
exec postgres -D {DATA}/db -k /tmp -c listen_addresses=127.0.0.1
"""
SETUP = f"""
CREATE ROLE {CLIENT_ROLE} LOGIN PASSWORD '{CLIENT_PASSWORD}';
CREATE DATABASE {DATABASE} OWNER {CLIENT_ROLE};
"""
TABLES = """
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO customers (name) SELECT 'customer-' || i FROM generate_series(1, 1000) i;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, placed timestamptz DEFAULT now());
INSERT INTO orders (customer) SELECT 1 + i % 1000 FROM generate_series(1, 20000) i;
"""
INSERT = "INSERT INTO orders (customer) VALUES (1 + (random() * 999)::int);"
DONE = ("Completed", "PartiallyFailed", "Failed")

Say = Callable[[str], None]


@dataclass(frozen=True)
class OperatorHooks:
    """The operator as the front door hands it over: its namespace and API version, and
    installing it (with node directories mounted for filesystem locations) and removing it."""

    namespace: str
    api_version: str
    install: Callable[[KubeClient, tuple[str, ...]], None]
    uninstall: Callable[[KubeClient], None]


@dataclass(frozen=True)
class TableCount:
    table: str
    dumped: int  # counted in the dump's own snapshot, recorded in the backup
    at_deletion: int | None  # in the live server when the namespace was deleted
    restored: int | None

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "dumped": self.dumped, "atDeletion": self.at_deletion,
                "restored": self.restored, "match": self.dumped == self.restored}


@dataclass(frozen=True)
class PgDemoResult:
    cluster: str
    namespace: str
    backup: str
    tables: list[TableCount]
    client_inserts: int
    client_logs_in: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return bool(self.tables) and all(t.dumped == t.restored for t in self.tables) and self.client_logs_in

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "namespace": self.namespace, "backup": self.backup, "ok": self.ok,
                "tables": [t.to_json() for t in self.tables], "clientInserts": self.client_inserts,
                "clientLogsIn": self.client_logs_in, "seconds": round(self.seconds, 1)}


class Client:
    """The application: logs in as its own role (over TCP, with its password) and inserts
    an order, again and again, until stopped."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.client, self.server = client, Server(namespace, POD, CLIENT_PASSWORD, user=CLIENT_ROLE)
        self.inserts, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-client", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                postgres.run_psql(self.client, self.server, INSERT, database=DATABASE, doing="An insert")
                self.inserts += 1
            except SalvageError:
                self._stop.wait(0.5)  # the server is going away: the client waits, as one would
            self._stop.wait(0.2)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def run_postgres_demo(cluster: LocalCluster, namespace: str, location: Location, repo_password: str,
                      operator: OperatorHooks, say: Say, progress: Progress, timeout: float = 300.0) -> PgDemoResult:
    if location.spec.provider != "filesystem":
        raise UsageError(f"`salvage demo postgres` writes to a directory the operator's pod mounts from the node; "
                         f"location {location.name!r} is {location.spec.provider}.",
                         hint="Leave --location out (the default directory), or name a filesystem location.")
    started = time.monotonic()
    say(f"1/8 starting local cluster {cluster.name} (reused if it is running)")
    cluster.up(nodes=1, real_nodes=1, report=lambda m: say(f"    {m}"))
    with cluster.client() as client:
        installed = _install_operator(client, operator, location, repo_password, say, timeout)
        app_client = Client(client, namespace)
        try:
            return _story(client, cluster, namespace, location, repo_password, operator, app_client, say, progress,
                          timeout, started)
        finally:
            app_client.stop()
            client.delete_if_present(f"{_collection(operator, 'schedules')}/{SCHEDULE}")
            if installed:
                say(f"    removing the operator this demo installed (namespace {operator.namespace}; "
                    "its Backup objects stay)")
                operator.uninstall(client)


def _story(client: KubeClient, cluster: LocalCluster, namespace: str, location: Location, repo_password: str,
           operator: OperatorHooks, app_client: Client, say: Say, progress: Progress, timeout: float,
           started: float) -> PgDemoResult:
    say(f"3/8 PostgreSQL 15 as StatefulSet {APP} in namespace {namespace}, its password in Secret {SECRET}")
    _fresh_namespace(client, namespace, time.monotonic() + timeout)
    _deploy(client, namespace, time.monotonic() + timeout)
    superuser = Server(namespace, POD, PASSWORD)
    wait_until(lambda: _accepts(client, superuser), time.monotonic() + timeout,
                    f"PostgreSQL in {namespace}/{POD} to accept connections")
    postgres.run_psql(client, superuser, SETUP, doing="Creating the role and the database")
    postgres.run_psql(client, Server(namespace, POD, CLIENT_PASSWORD, user=CLIENT_ROLE), TABLES, database=DATABASE,
                      doing="Creating the tables")
    say(f"    database {DATABASE}, owned by role {CLIENT_ROLE}: 1000 customers, 20000 orders")
    app_client.start()
    wait_until(lambda: app_client.inserts >= 3, time.monotonic() + timeout, "the client's first orders")
    say(f"4/8 a client logs in as {CLIENT_ROLE} and inserts an order every 0.2 s")

    say(f"5/8 Schedule {SCHEDULE} ({CRON!r}): the operator backs up namespace {namespace}; its database "
        "is dumped (roles, then pg_dump per database) while the client writes")
    apply(client, _collection(operator, "schedules"), _custom(operator, "Schedule", SCHEDULE, {
        "schedule": CRON, "retention": {"keepLast": 3},
        "template": {"includeNamespaces": [namespace], "location": LOCATION, "ttl": "720h",
                     "repoPasswordSecret": {"name": REPO_SECRET, "key": "password"}}}))
    backup = _first_backup(client, operator, time.monotonic() + timeout)
    # One is enough: paused, so no other firing runs while the namespace goes.
    client.patch(f"{_collection(operator, 'schedules')}/{SCHEDULE}", {"spec": {"paused": True}})
    say(f"    the operator runs Backup {backup}; the schedule is paused after this one")
    status = _finished(client, operator, backup, time.monotonic() + timeout)
    if status.get("phase") != "Completed":
        raise SalvageError(f"The scheduled Backup {backup} ended {status.get('phase')}: "
                           f"{status.get('reason') or 'no reason given'}",
                           hint=f"`kubectl -n {operator.namespace} get backup {backup} -o yaml` shows its status.")
    dumped = _dumped_counts(location, backup)
    say(f"    Backup {backup} Completed: {', '.join(f'{t} {n}' for t, n in dumped.items())} rows in the dump")

    app_client.stop()
    at_deletion = postgres.count_rows(client, superuser, DATABASE)
    say(f"6/8 disaster: namespace {namespace} deleted (the client had inserted {app_client.inserts} orders; "
        f"{at_deletion.get('public.orders')} in the table)")
    delete_and_wait(client, api.core("namespaces", name=namespace), time.monotonic() + timeout,
                         f"namespace {namespace}")

    say(f"7/8 salvage restore create --from-backup {backup}: objects, an empty claim, then the dumps once "
        "the server is Ready")
    report = restore_backup(client, location, RestoreRequest(
        name=f"{backup}-restore", backup=backup, selection=Selection(include_namespaces=(namespace,)),
        repo_password=repo_password, timeout=timeout), progress)
    if report.phase != "Completed":
        raise SalvageError(f"The restore of {backup} ended {report.phase}: "
                           f"{'; '.join(report.errors or [f.reason for f in report.failures]) or 'no reason given'}")
    restored = postgres.count_rows(client, superuser, DATABASE)
    say("8/8 rows per table: in the dump (recorded at backup time), live at the deletion, restored")
    logs_in = _logs_in(client, namespace)
    tables = [TableCount(t, n, at_deletion.get(t), restored.get(t)) for t, n in sorted(dumped.items())]
    return PgDemoResult(cluster.name, namespace, backup, tables, app_client.inserts, logs_in,
                        time.monotonic() - started)


def _install_operator(client: KubeClient, operator: OperatorHooks, location: Location, repo_password: str,
                      say: Say, timeout: float) -> bool:
    """The operator, its BackupLocation (the demo's directory) and the repository password
    Secret; True if this demo installed the operator (so removes it afterwards)."""
    deployment = api.apps("deployments", operator.namespace, "salvage")
    installed = client.find(deployment) is None
    say(f"2/8 {'installing' if installed else 'updating'} the operator in namespace {operator.namespace} "
        f"(salvage install --host-path {location.spec.bucket})")
    operator.install(client, (location.spec.bucket,))
    wait_until(lambda: _ready(client, operator.namespace, deployment), time.monotonic() + timeout,
                    f"the operator's pod in namespace {operator.namespace} to be ready")
    secret = base64.b64encode(repo_password.encode()).decode()
    apply(client, api.core("secrets", operator.namespace), {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": REPO_SECRET}, "data": {"password": secret}})
    apply(client, _collection(operator, "backuplocations"), _custom(operator, "BackupLocation", LOCATION, {
        "provider": "filesystem", "bucket": location.spec.bucket, "checkPeriodSeconds": 30}))
    return installed


def _ready(client: KubeClient, namespace: str, deployment: str) -> bool:
    for pod in client.list(api.core("pods", namespace), labelSelector="app.kubernetes.io/name=salvage"):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in ("ErrImageNeverPull", "InvalidImageName"):
                raise UsageError(f"The operator's pod {namespace}/{pod['metadata']['name']} cannot start: "
                                 f"{waiting['reason']} ({status.get('image')}).",
                                 hint="Build and import its image: `salvage dev images build salvage`.")
    return int((client.get(deployment).get("status") or {}).get("readyReplicas") or 0) >= 1


def _collection(operator: OperatorHooks, plural: str) -> str:
    return api.path(api.api_version_path(operator.api_version), plural, operator.namespace)


def _custom(operator: OperatorHooks, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": operator.api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _first_backup(client: KubeClient, operator: OperatorHooks, deadline: float) -> str:
    found: list[str] = []

    def made() -> bool:
        found[:] = sorted(b["metadata"]["name"] for b in client.list(
            _collection(operator, "backups"), labelSelector=f"salvage.io/schedule={SCHEDULE}"))
        return bool(found)

    wait_until(made, deadline, f"Schedule {SCHEDULE} to fire")
    return found[0]


def _finished(client: KubeClient, operator: OperatorHooks, backup: str, deadline: float) -> dict[str, Any]:
    path = f"{_collection(operator, 'backups')}/{backup}"
    wait_until(lambda: (client.get(path).get("status") or {}).get("phase") in DONE, deadline,
                    f"Backup {backup} to finish")
    return dict(client.get(path).get("status") or {})


def _dumped_counts(location: Location, backup: str) -> dict[str, int]:
    records = [v for v in BackupReader(location.store, backup).volumes() if v.get("method") == postgres.METHOD]
    if not records:
        raise SalvageError(f"Backup {backup} holds no database dump.",
                           hint=f"`salvage backup describe {backup}` says how its volume was captured.")
    entries = {d["name"]: d for d in (records[0].get("database") or {}).get("databases", [])}  # type: ignore[attr-defined]
    return dict(entries[DATABASE]["tables"])


def _accepts(client: KubeClient, server: Server) -> bool:
    try:
        postgres.server_facts(client, server)
        return True
    except SalvageError:
        return False


def _logs_in(client: KubeClient, namespace: str) -> bool:
    """The client's role, restored from the dumped globals, logs in with its password."""
    try:
        postgres.run_psql(client, Server(namespace, POD, CLIENT_PASSWORD, user=CLIENT_ROLE), "SELECT 1;",
                          database=DATABASE, doing="The client's login")
        return True
    except SalvageError:
        return False


def _fresh_namespace(client: KubeClient, namespace: str, deadline: float) -> None:
    path = api.core("namespaces", name=namespace)
    if client.find(path) is not None:
        delete_and_wait(client, path, deadline, f"namespace {namespace}")
    client.create(api.core("namespaces"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


def _deploy(client: KubeClient, namespace: str, deadline: float) -> None:
    labels = {"app": APP}
    client.create(api.core("secrets", namespace), {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET},
        "data": {"password": base64.b64encode(PASSWORD.encode()).decode()}})
    client.create(api.core("services", namespace), {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": APP, "labels": labels},
        "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "postgresql", "port": 5432}]}})
    container = {
        "name": "postgres", "image": images.POSTGRES.ref, "imagePullPolicy": "Never",
        "command": ["sh", "-c", SERVER],
        "env": [{"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "password"}}}],
        "readinessProbe": {"exec": {"command": ["pg_isready", "-h", "/tmp"]}, "periodSeconds": 1},
        "volumeMounts": [{"name": "data", "mountPath": DATA}],
    }
    client.create(kube.statefulset_path(namespace), {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": APP, "labels": labels},
        "spec": {
            "serviceName": APP, "replicas": 1, "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {
                    postgres.ANNOTATION: postgres.METHOD, postgres.SECRET_ANNOTATION: f"{SECRET}/password"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [container]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        }})
    wait_until(lambda: kube.pods_running(client, namespace, APP, 1), deadline, f"{POD} to be Running")
