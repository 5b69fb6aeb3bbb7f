"""Restore, Salvage beside restic, round after round, whole and by kind of file, with phases.

    python benchmarks/restore_bench.py --size 1GiB --rounds 5

The dataset of repo_bench.py is backed up once by each tool. Then, in every round, each tool
restores the whole snapshot and each of the dataset's three kinds of files on its own
(``small``: thousands of 1-64 KiB files; ``text``: large compressible files; ``random``: large
incompressible ones), alternating which tool goes first, each into a new directory; a
round's restores are removed after it (kept, they filled a shared disk). Every command's wall and CPU time, peak RSS
and the load average before it are printed, then per kind the ratio salvage/restic of each
round and its spread.

Then one more whole restore by Salvage in this process, split into its phases (imports,
opening the repository and its index, the restore itself) with each thread's time split
into on a CPU, waiting for a CPU (the machine's load) and blocked (the GIL, the disk, the
queue of batches): where the wall time goes when CPU is not what is short.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import generate, tree_size  # noqa: E402
from repo_bench import CACHE, LAST_CPU, Restic, Salvage, parse_size, run  # noqa: E402

KINDS = ("all", "small", "text", "random")

# Run in a child process: the phases of one restore, and each thread's time from
# /proc/thread-self/schedstat (on a CPU, waiting for one) at its last batch.
PHASES = r'''
import json, os, sys, threading, time
started = time.perf_counter()
from pathlib import Path
from salvage.repo import restore_writer
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot
from salvage.storage.factory import open_store_url
imported = time.perf_counter()

def sched():
    on_cpu, waiting, _ = open("/proc/thread-self/schedstat").read().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9

threads, lock = {}, threading.Lock()
original = restore_writer.FileWriter._run
def measured(self, batch):
    try:
        return original(self, batch)
    finally:
        with lock:
            threads[threading.get_native_id()] = sched()
restore_writer.FileWriter._run = measured
repo = Repository.open(open_store_url(sys.argv[1]), os.environ["SALVAGE_REPO_PASSWORD"])
snapshot = find_snapshot(repo, "latest")
opened = time.perf_counter()
walk0 = sched()
restore(repo, snapshot, Path(sys.argv[2]))
done = time.perf_counter()
walk1 = sched()
restore_s = done - opened
rows = [{"thread": "walk (main)", "on_cpu": walk1[0] - walk0[0], "waiting": walk1[1] - walk0[1]}]
# Worker threads start with the restore: all their time falls inside it.
rows += [{"thread": "worker", "on_cpu": c, "waiting": w} for c, w in threads.values()]
for row in rows:
    row["blocked"] = restore_s - row["on_cpu"] - row["waiting"]
print(json.dumps({"imports_s": imported - started, "open_s": opened - imported, "restore_s": restore_s,
                  "cpu_s": time.process_time(), "threads": rows}))
'''


def restore_command(tool: Salvage | Restic, kind: str, data: Path, target: Path) -> list[str]:
    if isinstance(tool, Salvage):
        return tool.cli("fs", "restore", "latest", "--target", str(target), *(["--include", kind] if kind != "all" else []))
    snapshot = "latest" if kind == "all" else f"latest:{data / kind}"
    return [str(tool.binary), "restore", snapshot, "--target", str(target)]


def expected(data: Path, kind: str) -> tuple[int, int]:
    return tree_size(data if kind == "all" else data / kind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--work", type=Path, default=CACHE / "restore-work")
    args = parser.parse_args()
    size, kinds = parse_size(args.size), args.kinds.split(",")
    if not Restic.binary.exists():
        raise SystemExit(f"{Restic.binary} is missing: build it with `python benchmarks/repo_bench.py --build`")
    if args.work.exists():
        raise SystemExit(f"{args.work} exists (an interrupted run?): remove it, and let the disk settle a minute")
    data = args.work / "data"
    print(f"generating {size / 2**30:.2f} GiB in {data}", file=sys.stderr)
    generate(data, size)
    tools: list[Salvage | Restic] = [Salvage(args.work), Restic(args.work)]
    for tool in tools:
        tool.start_round(0)
        tool.init()
        run(tool.backup(data), tool.env(), tool.log)
    results: list[dict[str, object]] = []
    load_before = os.getloadavg()
    try:
        for number in range(args.rounds):
            for kind in kinds:
                order = tools if (number + kinds.index(kind)) % 2 == 0 else tools[::-1]
                for tool in order:
                    target = tool.work / f"restored-{number}-{kind}"
                    load = os.getloadavg()[0]
                    seconds, rss, _ = run(restore_command(tool, kind, data, target), tool.env(), tool.log)
                    got = tree_size(target)
                    if got != expected(data, kind):
                        raise SystemExit(f"{tool.name} restored {got} (files, bytes) of {kind}, expected {expected(data, kind)}")
                    row = {"round": number + 1, "kind": kind, "tool": tool.name, "seconds": round(seconds, 3),
                           "cpu_seconds": round(LAST_CPU[0], 3), "peak_rss_mib": round(rss), "load1": round(load, 1)}
                    results.append(row)
                    print(json.dumps(row), flush=True)
            # Each round restores the dataset four times per tool: kept, five rounds of 2 GiB
            # filled this machine's shared disk. Both tools meet the deletes' aftermath (see
            # repo_bench.py) alike, as the order alternates.
            for tool in tools:
                for kind in kinds:
                    shutil.rmtree(tool.work / f"restored-{number}-{kind}")
            os.sync()
        salvage = tools[0]
        os.sync()
        phases = json.loads(subprocess.run(
            [sys.executable, "-c", PHASES, str(salvage.repo), str(salvage.work / "restored-phases")],
            env=salvage.env(), check=True, capture_output=True, text=True).stdout)
    except BaseException:
        print(f"stopped: {args.work} is kept (the tools' logs are in it); remove it before the next run",
              file=sys.stderr)
        raise
    shutil.rmtree(args.work, ignore_errors=True)
    report(results, kinds, phases, load_before, os.getloadavg(), args)


def report(results: list[dict[str, object]], kinds: list[str], phases: dict[str, object],
           load_before: tuple[float, float, float], load_after: tuple[float, float, float],
           args: argparse.Namespace) -> None:
    print(f"\n# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `python benchmarks/restore_bench.py "
          f"--size {args.size} --rounds {args.rounds}`, {os.cpu_count()} cores; load average before "
          f"{', '.join(f'{x:.1f}' for x in load_before)}, after {', '.join(f'{x:.1f}' for x in load_after)}\n")
    print("| kind | salvage wall s (each round) | restic wall s (each round) | salvage ÷ restic (each round) "
          "| rounds salvage faster | CPU s salvage / restic (median) | peak RSS MiB salvage / restic | load (1 min) |")
    print("|---|---|---|---|---:|---|---|---|")
    for kind in kinds:
        rows = {tool: [r for r in results if r["kind"] == kind and r["tool"] == tool] for tool in ("salvage", "restic")}
        ours, theirs = rows["salvage"], rows["restic"]
        ratios = [float(a["seconds"]) / float(b["seconds"]) for a, b in zip(ours, theirs)]  # type: ignore[arg-type]
        wins = sum(1 for r in ratios if r < 1)
        print(f"| {kind} | {_each(ours, 'seconds')} | {_each(theirs, 'seconds')} | "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (median {statistics.median(ratios):.2f}, "
              f"{min(ratios):.2f}–{max(ratios):.2f}) | {wins} of {len(ratios)} | "
              f"{_median(ours, 'cpu_seconds'):.2f} / {_median(theirs, 'cpu_seconds'):.2f} | "
              f"{max(int(r['peak_rss_mib']) for r in ours)} / {max(int(r['peak_rss_mib']) for r in theirs)} | "  # type: ignore[call-overload]
              f"{_each(ours, 'load1')} |")
    print(f"\nSalvage's phases (one more whole restore, in-process): imports {phases['imports_s']:.2f} s, "
          f"opening the repository and its index {phases['open_s']:.2f} s, restore {phases['restore_s']:.2f} s; "
          f"process CPU {phases['cpu_s']:.2f} s.\n")
    print("| thread | on a CPU s | waiting for a CPU s | blocked s |")
    print("|---|---:|---:|---:|")
    for row in phases["threads"]:  # type: ignore[attr-defined]
        print(f"| {row['thread']} | {row['on_cpu']:.2f} | {row['waiting']:.2f} | {row['blocked']:.2f} |")


def _each(rows: list[dict[str, object]], key: str) -> str:
    return ", ".join(f"{float(r[key]):.1f}" if key == "load1" else f"{float(r[key]):.2f}" for r in rows)  # type: ignore[arg-type]


def _median(rows: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
