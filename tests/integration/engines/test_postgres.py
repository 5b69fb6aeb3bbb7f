"""Database-consistent PostgreSQL backups on the real node (issue 17): seed 001's StatefulSet
with its password Secret, a few databases, a role with grants, a large object, and rows
written while the dump runs; backed up, verified in a scratch server, the namespace
deleted, restored, and compared. Then the faults: wrong password, server down, a dump
killed halfway, a full store, a database dropped while it is dumped."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from salvage.demo.postgres import DATA, SERVER  # the server's container, as in the demo
from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images import builders as images
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod
from salvage.locations import open_location
from salvage.model.errors import KubernetesError
from salvage.repo.locks import list_locks
from salvage.repo.snapshots import list_snapshots
from salvage.volumes import location_repository
from tests.support.builders import real_pod
from tests.support.cli import Result, salvage
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

PASSWORD = "Azure12345678"  # seed 001's
APP_PASSWORD = "app-secret"
REPO = {"SALVAGE_REPO_PASSWORD": "repo-pw"}
SETUP = f"""
CREATE DATABASE shop;
CREATE DATABASE inventory;
CREATE ROLE app LOGIN PASSWORD '{APP_PASSWORD}';
\\c shop
CREATE TABLE orders (id serial PRIMARY KEY, item text, qty int);
INSERT INTO orders (item, qty) SELECT 'item-' || i, i % 7 FROM generate_series(1, 50000) i;
CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now());
CREATE SCHEMA audit;
CREATE TABLE audit."Log Entries" (line text);
INSERT INTO audit."Log Entries" VALUES ('first'), ('second');
GRANT SELECT, INSERT ON orders TO app;
GRANT USAGE ON SEQUENCE orders_id_seq TO app;
SELECT lo_from_bytea(4242, 'a large object');
\\c inventory
CREATE TABLE stock (sku text PRIMARY KEY, count int);
INSERT INTO stock SELECT 'sku-' || i, i FROM generate_series(1, 1000) i;
"""
STATIC = {"shop": ["orders", 'audit."Log Entries"'], "inventory": ["stock"]}


def psql(kube: KubeClient, ns: str, sql: str, *, database: str = "postgres", pod: str = "postgresql-0",
         env: str = "", host: str = "/tmp", user: str = "postgres") -> str:
    result = exec_in_pod(kube, ns, pod, ["sh", "-c", f'{env} psql -X -q -At -v ON_ERROR_STOP=1 -h {host} -U "$1" '
                                         '-d "$2" -c "$3"', "sh", user, database, sql], timeout=60)
    assert result.ok, f"{sql}: {result.stderr}{result.message}"
    return result.stdout.strip()


def run_script(kube: KubeClient, ns: str, script: str, pod: str = "postgresql-0") -> None:
    """``script`` through ``psql -f -``: backslash commands (``\\c``) work, as ``-c`` has none."""
    result = exec_in_pod(kube, ns, pod, ["sh", "-c", 'printf "%s" "$1" | psql -X -q -v ON_ERROR_STOP=1 '
                                         '-h /tmp -U postgres -f -', "sh", script], timeout=120)
    assert result.ok, result.stderr


def server_log(kube: KubeClient, ns: str, pod: str = "postgresql-0") -> str:
    """The server's log (its container's), the last lines: what a failed wait shows."""
    try:
        return kube.get_text(f"/api/v1/namespaces/{ns}/pods/{pod}/log", tailLines=40)
    except KubernetesError as exc:
        return f"(no log: {exc.message})"


def deploy(kube: KubeClient, ns: str) -> None:
    secret = base64.b64encode(PASSWORD.encode()).decode()
    kube.create(f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dbpass"}, "data": {"dbpassword": secret}})
    container: dict[str, Any] = {
        "name": "postgres", "image": images.POSTGRES.ref, "imagePullPolicy": "Never",
        "command": ["sh", "-c", SERVER],
        "env": [{"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "dbpass", "key": "dbpassword"}}}],
        "readinessProbe": {"exec": {"command": ["pg_isready", "-h", "/tmp"]}, "periodSeconds": 1},
        "volumeMounts": [{"name": "data", "mountPath": DATA}],
    }
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgresql"},
        "spec": {
            "serviceName": "postgresql", "replicas": 1, "selector": {"matchLabels": {"app": "postgresql"}},
            "template": {
                "metadata": {"labels": {"app": "postgresql"}, "annotations": {
                    "backup.salvage.io/database": "postgresql",
                    "backup.salvage.io/database-secret": "dbpass/dbpassword"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [container]},
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    })
    pod_ready(kube, ns, "postgresql-0", timeout=240)


def checksums(kube: KubeClient, ns: str) -> dict[str, str]:
    return {f"{db}.{table}": psql(kube, ns, f"SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY t::text)) "
                                           f"FROM {table} t", database=db)
            for db, tables in STATIC.items() for table in tables}


class Writer:
    """The application while the backup runs: rows into shop.events, and pgbench's
    transactions on its tables in shop (2 clients, 2 s a round)."""

    def __init__(self, kube: KubeClient, ns: str) -> None:
        self.kube, self.ns, self.stop, self.batches, self.rounds = kube, ns, threading.Event(), 0, 0
        self.threads = [threading.Thread(target=self._run, daemon=True),
                        threading.Thread(target=self._pgbench, daemon=True)]

    def _run(self) -> None:
        while not self.stop.is_set():
            psql(self.kube, self.ns, "INSERT INTO events (at) SELECT now() FROM generate_series(1, 200)",
                 database="shop")
            self.batches += 1

    def _pgbench(self) -> None:
        while not self.stop.is_set():
            result = exec_in_pod(self.kube, self.ns, "postgresql-0", ["pgbench", "-n", "-c", "2", "-T", "2",
                                                                    "-h", "/tmp", "-U", "postgres", "shop"],
                                 timeout=60)
            assert result.ok, result.stderr
            self.rounds += 1

    def __enter__(self) -> Writer:
        for thread in self.threads:
            thread.start()
        wait_for(lambda: self.batches >= 2 and self.rounds >= 1, timeout=60, what="the writers to write")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def ok(result: Result) -> Result:
    assert result.returncode == 0, result.stderr
    return result


def failed(result: Result) -> str:
    """The error of a command that must fail, on one line (the terminal wraps at 80 columns)."""
    assert result.returncode != 0, result.stdout
    return " ".join(result.stderr.split())


def database_record(cluster: LocalCluster, name: str) -> dict[str, Any]:
    described = json.loads(ok(salvage(cluster.kubeconfig, "-o", "json", "backup", "describe", name)).stdout)
    assert described["phase"] == "Completed"
    [volume] = described["volumes"]
    assert volume["method"] == "postgresql"
    return dict(volume["database"])


def test_backup_verify_delete_restore(real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str,
                                      salvage_home: Path) -> None:
    kube, ns = real_kube, real_ns
    deploy(kube, ns)
    run_script(kube, ns, SETUP)
    result = exec_in_pod(kube, ns, "postgresql-0", ["pgbench", "-i", "-q", "-s", "1", "-h", "/tmp", "-U", "postgres",
                                                   "shop"], timeout=120)
    assert result.ok, result.stderr
    before = checksums(kube, ns)

    with Writer(kube, ns) as writer:
        started = writer.batches, writer.rounds
        ok(salvage(real_cluster.kubeconfig, "backup", "create", "pg", "--include-namespaces", ns, env=REPO))
        assert writer.batches > started[0] and writer.rounds > started[1], "the application wrote during the backup"
    record = database_record(real_cluster, "pg")
    assert record["serverVersion"].startswith("15.")
    dumps = {d["name"]: d for d in record["databases"]}
    assert set(dumps) == {"postgres", "shop", "inventory"}
    assert dumps["shop"]["tables"]["public.orders"] == 50000
    assert dumps["shop"]["tables"]['audit.Log Entries'] == 2
    recorded_events = dumps["shop"]["tables"]["public.events"]
    assert recorded_events >= 400, "rows written before the dump are in it"
    recorded_history = dumps["shop"]["tables"]["public.pgbench_history"]
    assert recorded_history > 0, "pgbench's transactions before the dump are in it"
    assert all(len(d["sha256"]) == 64 and d["size"] > 0 for d in dumps.values())

    # The user's own checks run in the restored scratch server; one that says false fails it.
    verified = salvage(real_cluster.kubeconfig, "-o", "json", "db", "verify", "pg", "--image", images.POSTGRES.ref,
                       "--query", "shop=SELECT count(*) = 50000 FROM orders",
                       "--query", "inventory=SELECT count(*) > 1000 FROM stock", env=REPO)
    assert verified.returncode == 1 and "1 --query check(s) failed" in verified.stderr, verified.stderr
    report = json.loads(verified.stdout)
    assert {t["table"] for t in report["tables"]} >= {"public.orders", "public.events", "public.stock",
                                                     "public.pgbench_history", "public.pgbench_accounts"}
    assert all(t["result"] == "ok" for t in report["tables"]), report
    assert [(q["output"], q["result"]) for q in report["queries"]] == [("t", "ok"), ("f", "FAILED")], report
    scratch = [n["metadata"]["name"] for n in kube.list("/api/v1/namespaces")
               if n["metadata"]["name"].startswith("salvage-verify-") and not n["metadata"].get("deletionTimestamp")]
    assert scratch == [], "the scratch namespace is removed"

    kube.delete(f"/api/v1/namespaces/{ns}")
    wait_for(lambda: _gone(kube, f"/api/v1/namespaces/{ns}"), timeout=120, what="the namespace to go")
    ok(salvage(real_cluster.kubeconfig, "restore", "create", "back", "--from-backup", "pg", env=REPO))
    # The claim came back empty, the server initialised it, and once Ready the dumps went in.
    report = json.loads(ok(salvage(real_cluster.kubeconfig, "-o", "json", "restore", "describe", "back")).stdout)
    assert report["phase"] == "Completed", report

    assert checksums(kube, ns) == before
    assert psql(kube, ns, "SELECT count(*) FROM events", database="shop") == str(recorded_events)
    assert psql(kube, ns, "SELECT count(*) FROM pgbench_history", database="shop") == str(recorded_history)
    assert psql(kube, ns, "SELECT convert_from(lo_get(4242), 'UTF8')", database="shop") == "a large object"
    # The application logs in with its own role over TCP, and its grants hold.
    app = dict(env=f"PGPASSWORD={APP_PASSWORD}", host="127.0.0.1", user="app", database="shop")
    assert psql(kube, ns, "INSERT INTO orders (item, qty) VALUES ('new', 1); SELECT count(*) FROM orders",
                **app) == "50001"
    # The bootstrap superuser kept the password of the Secret the restored server started with.
    assert psql(kube, ns, "SELECT 1", env=f"PGPASSWORD={PASSWORD}", host="127.0.0.1") == "1"

    refused = failed(salvage(real_cluster.kubeconfig, "db", "restore", "pg", env=REPO))
    assert "hold data already" in refused and "--clean" in refused, refused
    ok(salvage(real_cluster.kubeconfig, "db", "restore", "pg", "--clean", "-d", "shop", env=REPO))
    assert psql(kube, ns, "SELECT count(*) FROM orders", database="shop") == "50000"


def test_faults_leave_no_backup(real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str,
                                salvage_home: Path) -> None:
    kube, ns = real_kube, real_ns
    deploy(kube, ns)
    psql(kube, ns, "CREATE TABLE big AS SELECT i, md5(i::text) AS h FROM generate_series(1, 1500000) i")
    wrong = base64.b64encode(b"not-the-password").decode()
    kube.create(f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong"}, "data": {"password": wrong}})
    kube.create(f"/api/v1/namespaces/{ns}/pods", real_pod("stopped", "sleep 3600", image=images.POSTGRES.ref))
    pod_ready(kube, ns, "stopped", timeout=120)

    bad = salvage(real_cluster.kubeconfig, "db", "backup", "bad", "-n", ns, "--statefulset", "postgresql",
                  "--secret", "wrong", env=REPO)
    assert "password authentication failed" in failed(bad)
    assert "not-the-password" not in bad.stderr + bad.stdout

    down = failed(salvage(real_cluster.kubeconfig, "db", "backup", "down", "-n", ns, "--pod", "stopped",
                          "--secret", "dbpass", env=REPO))
    assert "Connection refused" in down and "Is the server running" in down, down

    # Kill pg_dump's server session while it streams: the backup fails and leaves nothing.
    killed: list[str] = []

    def kill_dump() -> bool:
        pids = psql(kube, ns, "SELECT string_agg(pg_terminate_backend(pid)::text, ',') FROM pg_stat_activity "
                              "WHERE application_name = 'pg_dump'")
        killed.extend(p for p in pids.split(",") if p)
        return bool(killed)

    killer = threading.Thread(target=lambda: wait_for(kill_dump, timeout=60, interval=0.05, what="pg_dump"))
    killer.start()
    half = salvage(real_cluster.kubeconfig, "db", "backup", "half", "-n", ns, "--statefulset", "postgresql",
                   "-d", "postgres", env=REPO)
    killer.join()
    assert killed and "pg_dump of database 'postgres'" in failed(half), half.stderr

    listed = json.loads(ok(salvage(real_cluster.kubeconfig, "-o", "json", "backup", "get")).stdout)
    assert [b for b in listed if b.get("phase") == "Completed"] == [], "no Completed backup from a failure"
    repository = location_repository.repository(open_location(None).store, REPO["SALVAGE_REPO_PASSWORD"], create=False)
    assert list_snapshots(repository) == [], "no repository snapshot names a broken dump"
    no_dump_left(kube, ns)

    # Two days through exec, a few rows apart: the second adds little to the repository.
    days = []
    for day in ("day1", "day2"):
        started = time.monotonic()
        out = json.loads(ok(salvage(real_cluster.kubeconfig, "-o", "json", "db", "backup", day, "-n", ns,
                                    "--statefulset", "postgresql", "-d", "postgres", env=REPO)).stdout)
        days.append((out["bytesAdded"], out["databases"][0]["size"], time.monotonic() - started))
        psql(kube, ns, "INSERT INTO big SELECT i, md5(i::text) FROM generate_series(1, 1000) i")
    print(f"dump of {days[0][1] / 1e6:.0f} MB through exec: day 1 {days[0][0] / 1e6:.1f} MB added in "
          f"{days[0][2]:.1f}s, day 2 {days[1][0] / 1e6:.2f} MB added in {days[1][2]:.1f}s")
    assert days[1][0] < days[0][1] / 20, days


def no_dump_left(kube: KubeClient, ns: str) -> None:
    """No dump or session of a failed run left in the server, nor in the container (a failed
    run ends its own processes there: an exec'd process outlives its connection)."""
    try:
        wait_for(lambda: psql(kube, ns, "SELECT count(*) FROM pg_stat_activity WHERE application_name IN "
                                        "('pg_dump', 'psql') AND pid <> pg_backend_pid()") == "0",
                 timeout=90, what="no dump or session left running")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nthe server's log:\n{server_log(kube, ns)}") from None


def test_a_full_store_and_a_database_dropped_mid_dump_leave_no_good_backup(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, salvage_home: Path,
        tmp_path: Path) -> None:
    kube, ns = real_kube, real_ns
    deploy(kube, ns)
    psql(kube, ns, "CREATE DATABASE doomed")
    psql(kube, ns, "CREATE TABLE big AS SELECT i, md5(i::text) AS h FROM generate_series(1, 1500000) i",
         database="doomed")

    # The store fills up halfway through the dump (about 31 MB once compressed, on 12 MiB).
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(small)], check=True)
    try:
        ok(salvage(None, "location", "add", "small", "--path", str(small)))
        full = salvage(real_cluster.kubeconfig, "db", "backup", "full", "-n", ns, "--statefulset", "postgresql",
                       "-d", "doomed", "--location", "small", env=REPO)
        said = failed(full)
        assert "The dump of database 'doomed' in PostgreSQL in pod" in said and "no space left on the device" in said \
            and "nothing was saved" in said, said
        assert "Completed" not in full.stdout + full.stderr and "bytes dumped" not in full.stderr, full.stderr
        listed = json.loads(ok(salvage(None, "-o", "json", "backup", "get", "--location", "small")).stdout)
        assert listed == [], "no backup, not even an incomplete one"
        repository = location_repository.repository(open_location("small").store, REPO["SALVAGE_REPO_PASSWORD"],
                                                    create=False)
        assert list_snapshots(repository) == [] and list_locks(repository) == [], "no snapshot, no lock"
        no_dump_left(kube, ns)
    finally:
        subprocess.run(["umount", str(small)], check=True)

    # The database dropped (WITH (FORCE): its sessions ended) while `backup create` dumps it:
    # the backup is not Completed, and its error names the database.
    dropped: list[str] = []

    def drop_while_dumped() -> bool:
        if psql(kube, ns, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' "
                          "AND datname = 'doomed'") != "0":
            psql(kube, ns, "DROP DATABASE doomed WITH (FORCE)")
            dropped.append("doomed")
        return bool(dropped)

    dropper = threading.Thread(target=lambda: wait_for(drop_while_dumped, timeout=120, interval=0.05,
                                                       what="pg_dump of doomed"))
    dropper.start()
    salvage(real_cluster.kubeconfig, "backup", "create", "dropped", "--include-namespaces", ns, env=REPO)
    dropper.join()
    assert dropped, "the database was dropped during its dump"
    described = json.loads(ok(salvage(real_cluster.kubeconfig, "-o", "json", "backup", "describe",
                                      "dropped")).stdout)
    assert described["phase"] != "Completed", described
    errors = " ".join(described.get("errors") or [])
    assert "pg_dump of database 'doomed'" in errors and "dropped" in errors, errors
    [volume] = described["volumes"]
    assert volume["method"] == "none", "no dump is recorded for the volume"
    repository = location_repository.repository(open_location(None).store, REPO["SALVAGE_REPO_PASSWORD"],
                                                create=False)
    assert list_snapshots(repository) == [], "the databases dumped before the failure are not kept either"
    no_dump_left(kube, ns)


def _gone(kube: KubeClient, path: str) -> bool:
    try:
        kube.get(path)
        return False
    except KubernetesError as exc:
        return exc.status == 404
