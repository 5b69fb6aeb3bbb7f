"""The postgresql method's scripts and the reading of their answers (volumes/postgres_scripts.py).

The scripts themselves run against a real server in tests/integration/engines/test_postgres.py."""

from __future__ import annotations

from pathlib import Path

from salvage.volumes import postgres_scripts as scripts
from salvage.volumes.postgres import SecretRef, annotations_of, is_database, listed_databases, pods_mounting
from tests.support.waiting import wait_for

GLOBALS = '''\\restrict abc
CREATE ROLE app;
ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:x==$y:z';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:old''s$a:b';
CREATE ROLE "Odd ""One""";
ALTER ROLE "Odd ""One""" WITH LOGIN PASSWORD 'md5abc';
GRANT app TO "Odd ""One""" GRANTED BY postgres;
\\unrestrict abc
'''


def test_globals_keep_the_target_superusers_password_and_skip_roles_it_has() -> None:
    sql = scripts.globals_for(GLOBALS, existing_roles={"postgres", 'Odd "One"'}, keep_password_of="postgres")
    lines = sql.splitlines()
    assert "CREATE ROLE postgres;" not in lines and 'CREATE ROLE "Odd ""One""";' not in lines
    assert "CREATE ROLE app;" in lines, "a role the target lacks is created"
    assert "ALTER ROLE postgres WITH SUPERUSER LOGIN;" in lines, "the superuser keeps the target's password"
    assert "ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:x==$y:z';" in lines
    assert 'ALTER ROLE "Odd ""One""" WITH LOGIN PASSWORD \'md5abc\';' in lines, "other roles keep theirs"
    assert 'GRANT app TO "Odd ""One""" GRANTED BY postgres;' in lines


def test_identifiers_are_quoted_as_postgresql_does() -> None:
    assert scripts.quote_ident("app_1") == "app_1"
    assert scripts.quote_ident("App") == '"App"'
    assert scripts.quote_ident('a "b"') == '"a ""b"""'


def test_stderr_is_split_into_facts_and_messages() -> None:
    report = scripts.read_report(
        'salvage: {"size": 10, "version": "15.8"}\n'
        'salvage: {"table" : "audit.Log Entries", "rows" : 2}\n'
        'pg_dump: error: query failed: server closed the connection unexpectedly\n'
        'salvage: {"dumpExit": 1}\n')
    assert report.get("dumpExit") == 1 and report.get("size") == 10
    assert report.rows() == {"audit.Log Entries": 2}
    assert report.message() == "pg_dump: error: query failed: server closed the connection unexpectedly"


def test_the_password_and_names_never_enter_the_script_text() -> None:
    command = scripts.command(scripts.PSQL, ("127.0.0.1", "5432", "postgres", "shop; rm -rf /"))
    assert command[:2] == ["sh", "-c"] and command[-1] == "shop; rm -rf /", "names are arguments"
    assert "read -r PGPASSWORD" in command[2]
    assert "--snapshot=\"$SALVAGE_SNAPSHOT\"" in scripts.dump_session()
    assert "pg_dump -w -Fc -Z0 " in scripts.dump_session(), \
        "uncompressed: the repository compresses, and compressed dumps do not deduplicate across days"
    assert scripts.dump_session().index("\\gexec") < scripts.dump_session().index("pg_dump -w -Fc"), \
        "rows are counted in the transaction whose snapshot the dump then uses"


def test_a_claim_is_a_database_by_its_pod_or_statefulset() -> None:
    pod = {"metadata": {"annotations": {"backup.salvage.io/databases": "shop, crm"}},
           "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data-pg-0"}}]}}
    owner = {"metadata": {"annotations": {"backup.salvage.io/database": "postgresql"}}}
    assert pods_mounting([pod], "data-pg-0") == [pod] and pods_mounting([pod], "other") == []
    assert is_database(annotations_of(pod, owner)) and not is_database(annotations_of(pod, None))
    assert listed_databases(annotations_of(pod, owner)) == ("shop", "crm")
    assert SecretRef.parse("dbpass/dbpassword") == SecretRef("dbpass", "dbpassword")
    assert SecretRef.parse("dbpass") == SecretRef("dbpass", None)


def test_stopping_a_run_ends_its_processes_and_no_others() -> None:
    """STOP_RUN, run here as in the container: the run's processes (a writer blocked on its
    full stdout is one) get SIGTERM; a process of another run, or of none, is left alone."""
    import subprocess

    import pytest

    def start(run: str | None, script: str = "exec sleep 300") -> subprocess.Popen[bytes]:
        return subprocess.Popen(scripts.command(script, (), run=run), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE)  # never read: `yes` blocks on it

    ours, blocked, theirs, unmarked = start("run-a"), start("run-a", "yes"), start("run-b"), start(None)
    try:
        for process in (ours, blocked, theirs):
            wait_for(lambda p=process: marked(p.pid), timeout=10, what="the run's mark in its environment")
        stop = subprocess.run(["sh", "-c", scripts.STOP_RUN, "sh", "run-a"], capture_output=True, timeout=30)
        assert stop.returncode == 0, stop.stderr
        assert ours.wait(timeout=10) == -15 and blocked.wait(timeout=10) in (-15, 143)  # `yes`, or its sh
        for other in (theirs, unmarked):
            with pytest.raises(subprocess.TimeoutExpired):
                other.wait(timeout=0.5)  # still running: no stray kill lands on it
    finally:
        for process in (ours, blocked, theirs, unmarked):
            process.kill()
            process.wait()


def test_a_run_is_stopped_leaves_first_so_no_process_is_orphaned() -> None:
    """Each process dies while its parent lives to reap it: an orphan would go to the
    container's PID 1, and a postmaster there restarts the server when one dies by a signal.
    The shell here outlives its child's kill (it says so and exits by itself) before the
    next round ends it: proof that the child went first."""
    import subprocess

    tree = subprocess.Popen(scripts.command('sleep 300; echo "child gone first"; exec sleep 300', (), run="run-t"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: Path(f"/proc/{tree.pid}/task/{tree.pid}/children").read_text().strip(), timeout=10,
                 what="the shell's child started")
        stop = subprocess.run(["sh", "-c", scripts.STOP_RUN, "sh", "run-t"], capture_output=True, timeout=60)
        assert stop.returncode == 0, stop.stderr
        out, _ = tree.communicate(timeout=10)
        assert "child gone first" in out
    finally:
        for process in (tree,):
            process.kill()
            process.wait()


def marked(pid: int) -> bool:
    try:
        return f"{scripts.RUN_VARIABLE}=".encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
