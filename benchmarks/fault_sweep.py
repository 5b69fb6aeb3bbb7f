"""The long fault sweep (issue 20): every fault case of tests/faults on backup create and
restore create, and SIGKILLs of backup create, restore create and fs backup, with more
seeds than the test command; then the results table of docs/reliability.md.

    python benchmarks/fault_sweep.py [--seeds 10] [--kill-seeds 40] [--out docs/reliability.md]

It runs pytest on tests/faults with SALVAGE_FAULT_SWEEP=1 (every case) and
SALVAGE_FAULT_RESULTS (one JSON line per run, written by the tests), then groups the lines
by path and fault. The table's first block ends with ``total_runs=N violations=M``.
Runtime on this project's 2-core machine: see docs/reliability.md (about 40 minutes for
--seeds 3 --kill-seeds 70).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_sweep(seeds: int, kill_seeds: int, results: Path, select: str | None) -> tuple[int, float]:
    env = dict(os.environ, SALVAGE_FAULT_SWEEP="1", SALVAGE_FAULT_RESULTS=str(results),
               PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    started = time.monotonic()
    code = 0
    # Network faults with --seeds repeats, then the kills with --kill-seeds (one pytest each,
    # so each gets its own seed count).
    for tests, count in (("tests/faults/test_network_faults.py", seeds), ("tests/faults/test_kills.py", kill_seeds)):
        argv = [sys.executable, "-m", "pytest", tests, "-q", "-p", "no:cacheprovider", "--timeout", "7200"]
        if select:
            argv += ["-k", select]
        code |= subprocess.call(argv, cwd=ROOT, env={**env, "SALVAGE_FAULT_SEEDS": str(count)})
    return code, time.monotonic() - started


def table(rows: list[dict[str, Any]], seconds: float, command: str) -> str:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["path"], row["fault"])].append(row)
    lines = [
        "| path | fault | what | runs | seeds | finished | failed cleanly | killed | violations "
        "| time to finish or fail (median / max) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for (path, fault), runs in sorted(groups.items()):
        times = [r["seconds"] for r in runs]
        what = runs[0]["label"] if fault != "sigkill" else "SIGKILL after a seeded random delay"
        lines.append(
            f"| {path} | {fault} | {what} | {len(runs)} | {len({r['seed'] for r in runs})} "
            f"| {sum(r['outcome'] == 'finished' for r in runs)} "
            f"| {sum(r['outcome'].startswith('failed') for r in runs)} "
            f"| {sum(r['outcome'] == 'killed' for r in runs)} "
            f"| {sum(bool(r['violations']) for r in runs)} "
            f"| {median(times):.1f} s / {max(times):.1f} s |")
    total, violations = len(rows), sum(bool(r["violations"]) for r in rows)
    lines += ["", f"total_runs={total} violations={violations}"]
    header = (f"Written by `{command}` on {time.strftime('%Y-%m-%d', time.gmtime())} "
              f"({platform.machine()}, {os.cpu_count()} cores), in {seconds / 60:.1f} minutes.\n\n")
    return header + "\n".join(lines) + "\n"


def details(rows: list[dict[str, Any]]) -> str:
    """Where the kills landed and how each failed run said why (one line per distinct error)."""
    out = ["", "### Where the kills landed", ""]
    for path in sorted({r["path"] for r in rows if r["fault"] == "sigkill"}):
        left: dict[str, int] = defaultdict(int)
        for r in rows:
            if r["fault"] == "sigkill" and r["path"] == path:
                left[f"{r['outcome']}: {r.get('left', '')}"] += 1
        out.append(f"- {path}: " + "; ".join(f"{n}× {what}" for what, n in sorted(left.items())))
    errors = sorted({(r["path"], r["fault"], r["error"][-200:]) for r in rows if r["error"]})
    if errors:
        out += ["", "### How the failed runs said why", ""]
        out += [f"- {path}, {fault}: `{error.strip()}`" for path, fault, error in errors]
    bad = [r for r in rows if r["violations"]]
    if bad:
        out += ["", "### Violations", ""]
        out += [f"- {r['path']}, {r['fault']}, seed {r['seed']}: {'; '.join(r['violations'])}" for r in bad]
    return "\n".join(out) + "\n"


BEGIN, END = "<!-- fault-sweep: begin (written by benchmarks/fault_sweep.py) -->", "<!-- fault-sweep: end -->"


def write_between_markers(path: Path, text: str) -> None:
    """Replace what is between the markers, or write the page with only the markers' block."""
    page = path.read_text() if path.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in page or END not in page:
        raise SystemExit(f"{path} has no sweep markers ({BEGIN} ... {END}); add them where the table goes")
    head, rest = page.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{text}{END}{rest.split(END, 1)[1]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="repeats of each network fault case")
    parser.add_argument("--kill-seeds", type=int, default=70, help="kills per path (3 paths)")
    parser.add_argument("--select", help="a pytest -k expression, to run part of the sweep")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md",
                        help="written between its sweep markers (the rest of the page is kept)")
    parser.add_argument("--from-results", type=Path, help="only write the table from an earlier run's JSON lines")
    args = parser.parse_args()
    command = "python benchmarks/fault_sweep.py " + " ".join(sys.argv[1:])
    if args.from_results:
        results, code, seconds = args.from_results, 0, 0.0
    else:
        results = Path(tempfile.mkstemp(prefix="fault-sweep-", suffix=".jsonl")[1])
        code, seconds = run_sweep(args.seeds, args.kill_seeds, results, args.select)
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    text = table(rows, seconds, command) + details(rows)
    write_between_markers(args.out, text)
    print(text)
    print(f"results: {results} (JSON lines); table: {args.out}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
