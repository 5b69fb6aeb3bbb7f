"""PostgreSQL dumps into the repository beside the usual ways, in one run on one database.

    python benchmarks/pg_dump_bench.py --scale 150            # its own scratch server
    PGHOST=/run/postgresql PGUSER=postgres python benchmarks/pg_dump_bench.py --database bench --no-server

With ``--scale N`` it starts a scratch PostgreSQL of this machine (``initdb`` in a
temporary directory, a Unix socket only) and builds pgbench's tables at scale N (N × 100,000
accounts) with realistic bytes in ``pgbench_accounts.filler`` (pgbench's own is blank and
compresses to nothing, flattering every number). Then, in this order:

- the floor: ``pg_dump -Fc > file``;
- seed 001's way: ``pg_dump | gzip > file`` (its CronJob dumps one database to a file and
  uploads it; the upload is left out, so this is its best case);
- day 1 into a fresh repository: ``pg_dump -Fc -Z0`` streamed through
  :class:`salvage.repo.streams.StreamedSnapshot`, as the ``postgresql`` method does from the
  database's container (the exec hop is not in these numbers: see docs/benchmarks.md);
- day 2 after ``--change`` (pgbench's tables: 3,000 accounts updated, 10,000 history rows):
  the bytes the repository added;
- restore of day 2 from the repository into a new database with ``pg_restore --jobs 1`` and
  ``--jobs 4`` (the dump written from the repository to a scratch file first, as the method
  does in the container, then ``pg_restore``; both parts timed).

``--levels 6,0`` also streams pg_dump's own compression (-Z6) into a second repository.
The scratch server and every file are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from salvage.repo.repository import Repository
from salvage.repo.snapshots import find_snapshot
from salvage.repo.streams import StreamedSnapshot, read_streamed, streamed_files
from salvage.storage.local import LocalStore

CHANGE = ("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0 AND aid < 300000; "
          "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
          "SELECT 1, 1, g, 1, now() FROM generate_series(1, 10000) g;")
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def tool(name: str) -> str:
    local = PG_BIN / name
    return str(local) if local.exists() else name


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run([tool("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


@contextmanager
def scratch_server(directory: Path) -> Iterator[None]:
    """A PostgreSQL of this machine on a Unix socket in ``directory``; stopped on exit."""
    data, socket_dir = directory / "data", directory / "socket"
    socket_dir.mkdir(parents=True)
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(directory, "postgres")
        shutil.chown(socket_dir, "postgres")
    subprocess.run([*as_user, tool("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    options = f"-k {socket_dir} -c listen_addresses='' -c max_wal_size=4GB -c checkpoint_timeout=30min"
    subprocess.run([*as_user, tool("pg_ctl"), "-D", str(data), "-l", str(directory / "log"), "-o", options,
                    "-w", "start"], check=True, capture_output=True)
    os.environ.update(PGHOST=str(socket_dir), PGUSER="postgres")
    try:
        yield
    finally:
        subprocess.run([*as_user, tool("pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)


def build(database: str, scale: int) -> None:
    """pgbench's tables at ``scale`` with filler bytes that look like data (md5 text)."""
    psql(f"CREATE DATABASE {database}")
    subprocess.run([tool("pgbench"), "-q", "-i", "-I", "dt", "-s", str(scale), database], check=True,
                   capture_output=True)
    psql(f"INSERT INTO pgbench_branches SELECT b, 0, '' FROM generate_series(1, {scale}) b; "
         f"INSERT INTO pgbench_tellers SELECT t, (t - 1) / 10 + 1, 0, '' FROM generate_series(1, {scale * 10}) t; "
         f"INSERT INTO pgbench_accounts SELECT a, (a - 1) / 100000 + 1, 0, md5(a::text) || md5((a * 7)::text) "
         f"FROM generate_series(1, {scale * 100000}) a", database)
    subprocess.run([tool("pgbench"), "-q", "-i", "-I", "vp", "-s", str(scale), database], check=True,
                   capture_output=True)


def timed(command: str, out: Path) -> tuple[int, float]:
    started = time.monotonic()
    subprocess.run(["sh", "-c", command + f' > "{out}"'], check=True)
    return out.stat().st_size, time.monotonic() - started


def into_repository(repo: Repository, database: str, level: int) -> tuple[str, int, int, float]:
    started = time.monotonic()
    process = subprocess.Popen([tool("pg_dump"), "-Fc", f"-Z{level}", "-d", database], stdout=subprocess.PIPE)
    assert process.stdout is not None
    with StreamedSnapshot(repo, path=f"/bench/{database}") as snapshot:
        stored = snapshot.add("dump", process.stdout)
        if process.wait() != 0:
            raise SystemExit("pg_dump failed")
        result = snapshot.commit()
    return result.snapshot_id, stored.size, result.summary["bytes_added"], time.monotonic() - started


def restore(repo: Repository, snapshot_id: str, scratch: Path, jobs: int) -> tuple[float, float]:
    """The day's dump from the repository to a file, then pg_restore --jobs into a new database."""
    target = f"restored_j{jobs}"
    psql(f"DROP DATABASE IF EXISTS {target}")
    psql(f"CREATE DATABASE {target}")
    started = time.monotonic()
    node = streamed_files(repo, find_snapshot(repo, snapshot_id))["dump"]
    with open(scratch, "wb") as out:
        for chunk in read_streamed(repo, node):
            out.write(chunk)
    read = time.monotonic() - started
    started = time.monotonic()
    subprocess.run([tool("pg_restore"), f"--jobs={jobs}", "-d", target, str(scratch)], check=True)
    loaded = time.monotonic() - started
    scratch.unlink()
    psql(f"DROP DATABASE {target}")
    return read, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench")
    parser.add_argument("--scale", type=int, default=0, help="start a scratch server and build pgbench at this scale")
    parser.add_argument("--no-server", action="store_true", help="use the server libpq's environment names")
    parser.add_argument("--levels", default="0", help="pg_dump -Z levels streamed into the repository")
    parser.add_argument("--change", default=CHANGE, help="SQL run between day 1 and day 2")
    parser.add_argument("--dir", default=None, help="where the server, files and repository go (default: a temp dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pg-bench-", dir=args.dir))
    work.chmod(0o755)
    try:
        print(f"machine: {platform.node()}, {os.cpu_count()} cores; load average {os.getloadavg()}")
        if args.no_server:
            run(args, work)
        else:
            with scratch_server(work / "server"):
                started = time.monotonic()
                build(args.database, args.scale)
                print(f"pgbench scale {args.scale} with md5 filler built in {time.monotonic() - started:.0f}s")
                run(args, work)
        print(f"load average at the end {os.getloadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    size = int(psql(f"SELECT pg_database_size('{args.database}')"))
    print(f"database {args.database}: {size / 2**30:.2f} GiB on disk; "
          f"PostgreSQL {psql('SHOW server_version')}")
    dump_file = work / "dump"
    made, seconds = timed(f'{tool("pg_dump")} -Fc -d {args.database}', dump_file)
    print(f"floor  pg_dump -Fc > file: {made / 1e6:.0f} MB in {seconds:.1f}s ({made / 1e6 / seconds:.0f} MB/s)")
    dump_file.unlink()
    made, seconds = timed(f'{tool("pg_dump")} -d {args.database} | gzip', dump_file)
    print(f"seed 001  pg_dump | gzip > file: {made / 1e6:.0f} MB in {seconds:.1f}s")
    dump_file.unlink()
    for level in (int(x) for x in args.levels.split(",")):
        repo_dir = work / f"repo-z{level}"
        repo_dir.mkdir()
        repo = Repository.init(LocalStore(str(repo_dir)), "bench")
        snapshot_id = ""
        for day in (1, 2):
            if day == 2:
                psql(args.change, args.database)
            snapshot_id, dumped, added, seconds = into_repository(repo, args.database, level)
            print(f"-Z{level} day {day} into the repository: dump {dumped / 1e6:.0f} MB, {added / 1e6:.1f} MB added, "
                  f"{seconds:.1f}s ({dumped / 1e6 / seconds:.0f} MB/s of dump)")
        if level == 0:
            for jobs in (1, 4):
                read, loaded = restore(repo, snapshot_id, work / "restore.dump", jobs)
                print(f"restore day 2, pg_restore --jobs {jobs}: repository to file {read:.1f}s, "
                      f"pg_restore {loaded:.1f}s, total {read + loaded:.1f}s")
        shutil.rmtree(repo_dir)


if __name__ == "__main__":
    main()
