"""PostgreSQL dumps into the repository: the floor (``pg_dump -Fc > file``), day 1 and
day 2 (after changing a few rows) streamed into a fresh repository, with ``pg_dump``'s
own compression (``-Z6``, its default) and without (``-Z0``, what the ``postgresql``
method runs: the repository compresses with zstd).

    PGHOST=/run/postgresql PGUSER=postgres python benchmarks/pg_dump_bench.py --database bench

It runs ``pg_dump`` here (the libpq environment says where the server is) and streams its
stdout through :class:`salvage.repo.streams.StreamedSnapshot`, as the method does in the
database's container; the exec hop of the real method is not in these numbers. The
database is changed between day 1 and day 2 (``--change`` SQL; the default touches
pgbench's tables). Make one with ``pgbench -i -s 10 bench``; pgbench's filler column is
blank and compresses to nothing, so give it realistic bytes first, e.g.
``UPDATE pgbench_accounts SET filler = md5(aid::text) || md5((aid * 7)::text)``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time

from salvage.repo.repository import Repository
from salvage.repo.streams import StreamedSnapshot
from salvage.storage.local import LocalStore

CHANGE = ("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0 AND aid < 300000; "
          "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
          "SELECT 1, 1, g, 1, now() FROM generate_series(1, 10000) g;")


def dump_args(database: str, level: int) -> list[str]:
    return ["pg_dump", "-Fc", f"-Z{level}", "-d", database]


def floor(database: str, level: int) -> tuple[int, float]:
    with tempfile.NamedTemporaryFile() as out:
        started = time.monotonic()
        subprocess.run([*dump_args(database, level), "-f", out.name], check=True)
        return os.path.getsize(out.name), time.monotonic() - started


def into_repository(repo: Repository, database: str, level: int) -> tuple[int, int, float]:
    started = time.monotonic()
    process = subprocess.Popen(dump_args(database, level), stdout=subprocess.PIPE)
    assert process.stdout is not None
    with StreamedSnapshot(repo, path=f"/bench/{database}") as snapshot:
        stored = snapshot.add("dump", process.stdout)
        if process.wait() != 0:
            raise SystemExit("pg_dump failed")
        result = snapshot.commit()
    return stored.size, result.summary["bytes_added"], time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench")
    parser.add_argument("--change", default=CHANGE, help="SQL run between day 1 and day 2")
    args = parser.parse_args()
    for level in (6, 0):
        size, seconds = floor(args.database, level)
        print(f"pg_dump -Fc -Z{level} > file: {size / 1e6:.1f} MB in {seconds:.1f}s")
        with tempfile.TemporaryDirectory() as directory:
            repo = Repository.init(LocalStore(directory), "bench")
            for day in (1, 2):
                if day == 2:
                    subprocess.run(["psql", "-q", "-d", args.database, "-c", args.change], check=True)
                size, added, seconds = into_repository(repo, args.database, level)
                print(f"  day {day} into the repository: dump {size / 1e6:.1f} MB, "
                      f"{added / 1e6:.2f} MB added, {seconds:.1f}s")


if __name__ == "__main__":
    main()
