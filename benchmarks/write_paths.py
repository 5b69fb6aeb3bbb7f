"""What writing restored data costs on this machine: through the page cache, or direct.

    python benchmarks/write_paths.py [--size 2GiB] [--dir DIR] [--rounds 2]

Two threads (restore's default on two cores) each write their share of ``--size`` into
256 MiB files, 8 MiB per ``pwrite`` from a reused buffer, first buffered, then with
``O_DIRECT``; the rounds alternate. Prints wall and CPU (user + system) seconds of each.
This is the floor under a restore's write phase, without any decoding; it is why restore
writes large files with direct I/O (see repo/restore_writer.py). Files are removed at the end.
"""

from __future__ import annotations

import argparse
import mmap
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from repo_bench import parse_size  # noqa: E402

BUFFER = 8 * 1024 * 1024
FILE = 256 * 1024 * 1024
THREADS = 2


def write_files(directory: Path, total: int, direct: bool) -> tuple[float, float]:
    """(wall, CPU) seconds to write ``total`` bytes as FILE-sized files from THREADS threads."""
    files = max(THREADS, total // FILE)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | (os.O_DIRECT if direct else 0)
    label = "direct" if direct else "buffered"

    def worker(first: int) -> None:
        buffer = mmap.mmap(-1, BUFFER)  # page-aligned, as O_DIRECT needs
        buffer.write(os.urandom(BUFFER))
        view = memoryview(buffer)
        for number in range(first, files, THREADS):
            descriptor = os.open(directory / f"{label}-{number}", flags, 0o600)
            try:
                offset = 0
                while offset < total // files:
                    offset += os.pwrite(descriptor, view, offset)
            finally:
                os.close(descriptor)
        view.release()

    os.sync()  # nobody pays for the writeback of the round before
    before, start = os.times(), time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, after = time.monotonic() - start, os.times()
    return wall, (after.user - before.user) + (after.system - before.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="2GiB")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary directory under ~/.cache)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    total = parse_size(args.size)
    parent = args.dir or Path.home() / ".cache" / "salvage" / "bench"
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="write-paths-", dir=parent))
    try:
        print(f"{total / 2**30:.2f} GiB from {THREADS} threads into {work}")
        print("| round | path | wall s | GiB/s | CPU s |\n|---:|---|---:|---:|---:|")
        for number in range(args.rounds):
            for direct in (False, True):
                target = work / f"round-{number}"
                target.mkdir(exist_ok=True)
                wall, cpu = write_files(target, total, direct)
                label = "direct" if direct else "buffered"
                print(f"| {number + 1} | {label} | {wall:.2f} | {total / 2**30 / wall:.2f} | {cpu:.2f} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
