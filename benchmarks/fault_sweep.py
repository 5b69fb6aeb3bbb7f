"""The long fault sweep (issue 20): every fault case of tests/faults (network faults on each
store and on the API server; the store going away at set moments of a restore; SIGKILLs of
backup create, restore create, statefulset recover, fs backup and fs restore; a full disk
and a full store; credentials revoked mid-run, the API server's and the store's), with
more seeds than the test command; then the results table of docs/reliability.md.

    python benchmarks/fault_sweep.py [--seeds 2] [--kill-seeds 45] [--mover-seeds 4]
        [--stores minio,azurite,gcs] [--parts network,kills,operator,mover,full,credentials] [--keep-earlier]

The operator's kills get half of --kill-seeds.

It runs pytest on tests/faults with SALVAGE_FAULT_SWEEP=1 (every case) and
SALVAGE_FAULT_RESULTS (one JSON line per run, written by the tests), then groups the lines
by path and fault. The table's first block ends with ``total_runs=N violations=M``.
``--keep-earlier`` keeps the rows of the table already in the page for the (path, fault)
pairs this run did not measure, marked with a dagger (to re-run only a part), and their
lines under "Where the kills landed" and "How the failed runs said why".
Runtime on this project's 2-core machine: see docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


PARTS = {"network": ("tests/faults/test_network_faults.py", "tests/faults/test_store_outages.py"),
         "kills": ("tests/faults/test_kills.py",), "operator": ("tests/faults/test_operator_kills.py",),
         "mover": ("tests/faults/test_mover_kills.py",), "full": ("tests/faults/test_full.py",),
         "credentials": ("tests/faults/test_credentials.py", "tests/faults/test_store_credentials.py")}


def run_sweep(seeds: int, kill_seeds: int, mover_seeds: int, results: Path, select: str | None, parts: list[str],
              stores: str | None) -> tuple[int, float]:
    env = dict(os.environ, SALVAGE_FAULT_SWEEP="1", SALVAGE_FAULT_RESULTS=str(results),
               PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    if stores:
        env["SALVAGE_FAULT_STORES"] = stores
    started = time.monotonic()
    code = 0
    # One pytest per part, so each gets its own seed count.
    for part in parts:
        argv = [sys.executable, "-m", "pytest", *PARTS[part], "-q", "-p", "no:cacheprovider", "--timeout", "7200"]
        if select:
            argv += ["-k", select]
        count = {"kills": kill_seeds, "operator": kill_seeds // 2, "mover": mover_seeds}.get(part, seeds)
        code |= subprocess.call(argv, cwd=ROOT, env={**env, "SALVAGE_FAULT_SEEDS": str(count)})
    return code, time.monotonic() - started


HEAD = ("| path | fault | what | runs | seeds | finished | failed cleanly | killed | violations "
        "| time to finish or fail (median / max) |")


def table(rows: list[dict[str, Any]], seconds: float, command: str, earlier: list[str] | None = None) -> str:
    """The table of this run's rows, and of ``earlier`` table lines (kept from the page) for
    the pairs this run did not measure."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["path"], row["fault"])].append(row)
    lines: list[tuple[tuple[str, str], str]] = []
    for (path, fault), runs in groups.items():
        times = [r["seconds"] for r in runs]
        what = {"sigkill": "SIGKILL a seeded random delay after the start",
                "sigkill-after-first-change": "SIGKILL a seeded random delay after the first change"}.get(
                    fault, runs[0]["label"])
        lines.append(((path, fault),
            f"| {path} | {fault} | {what} | {len(runs)} | {len({r['seed'] for r in runs})} "
            f"| {sum(r['outcome'] == 'finished' for r in runs)} "
            f"| {sum(r['outcome'].startswith('failed') for r in runs)} "
            f"| {sum(r['outcome'] == 'killed' for r in runs)} "
            f"| {sum(bool(r['violations']) for r in runs)} "
            f"| {median(times):.1f} s / {max(times):.1f} s |"))
    total, violations = len(rows), sum(bool(r["violations"]) for r in rows)
    kept = 0
    for line in earlier or []:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key = (cells[0], cells[1].rstrip(" †"))
        if key in groups:
            continue
        kept += 1
        total += int(cells[3])
        violations += int(cells[8])
        cells[1] = key[1] + " †"
        lines.append((key, "| " + " | ".join(cells) + " |"))
    body = [HEAD, "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    body += [text for _key, text in sorted(lines)]
    body += ["", f"total_runs={total} violations={violations}"]
    took = (f"in {seconds / 60:.1f} minutes" if seconds else
            f"from earlier runs' results, whose {len(rows)} runs took "
            f"{sum(r['seconds'] for r in rows) / 60:.1f} minutes in all")
    header = (f"Written by `{command}` on {time.strftime('%Y-%m-%d', time.gmtime())} "
              f"({platform.machine()}, {os.cpu_count()} cores), {took}.")
    if kept:
        header += (f" The {kept} rows marked † were not re-run: they are kept from the table this run "
                   "replaced (`--keep-earlier`), and their runs count in the total.")
    return header + "\n\n" + "\n".join(body) + "\n"


def earlier_rows(page: Path) -> list[str]:
    """The table lines now between the page's markers (not the header or the rule)."""
    if not page.exists() or BEGIN not in page.read_text():
        return []
    block = page.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    return [line for line in block.splitlines()
            if line.startswith("| ") and not line.startswith("| path ") and not line.startswith("| ---")]


KILLS = ("sigkill", "sigkill-after-first-change", "mover-killed")  # the faults that are kills: counted in "where the kills landed"


_SECTIONS = {"### Where the kills landed": "kills", "### How the failed runs said why": "errors",
             "### Violations": "violations"}
# A detail line's (path, fault): "- path (fault): ...", "- path, fault: ...", "- path, fault, seed N: ...".
_DETAIL_KEY = {"kills": re.compile(r"^- (.+?) \((.+?)\): "), "errors": re.compile(r"^- ([^,]+), ([^,:]+): "),
               "violations": re.compile(r"^- ([^,]+), ([^,:]+), seed ")}


def earlier_details(page: Path) -> dict[str, list[str]]:
    """The lines of each detail section now on the page (kills, errors, violations)."""
    found: dict[str, list[str]] = defaultdict(list)
    if not page.exists() or BEGIN not in page.read_text():
        return found
    section = ""
    for line in page.read_text().split(BEGIN, 1)[1].split(END, 1)[0].splitlines():
        section = _SECTIONS.get(line.strip(), section)
        if section and line.strip() and line.strip() not in _SECTIONS:
            found[section].append(line)
    return found


def _kept(earlier: dict[str, list[str]], section: str, measured: set[tuple[str, str]]) -> list[str]:
    """The earlier bullets of ``section`` for the pairs this run did not measure."""
    kept = []
    for line in earlier.get(section, []):
        key = _DETAIL_KEY[section].match(line)
        if key and (key.group(1), key.group(2)) not in measured:
            kept.append(line)
    return kept


def details(rows: list[dict[str, Any]], earlier: dict[str, list[str]] | None = None) -> str:
    """Where the kills landed and how each failed run said why (one line per distinct error);
    with ``earlier`` (``--keep-earlier``), the page's lines for the pairs this run did not
    measure stay, as their rows do."""
    earlier = earlier or {}
    measured = {(r["path"], r["fault"]) for r in rows}
    kills = [r for r in rows if r["fault"] in KILLS]
    out = ["", "### Where the kills landed", ""]
    if kills:
        landed = sum(r["outcome"] == "killed" for r in kills)
        out += [f"Of the {len(kills)} SIGKILLs sent, {landed} landed while the command ran; the other "
                f"{len(kills) - landed} came after it had finished, and count as runs that finished.", ""]
    else:  # no kills in this run: what the page said of the kept ones stays
        out += [line for line in earlier.get("kills", []) if line.startswith("Of the ")][:1] + [""]
    lines = []
    for path, fault in sorted({(r["path"], r["fault"]) for r in kills}):
        left: dict[str, int] = defaultdict(int)
        for r in kills:
            if (r["path"], r["fault"]) == (path, fault):
                left[f"{r['outcome']}: {r.get('left', '')}"] += 1
        lines.append(f"- {path} ({fault}): " + "; ".join(f"{n}× {what}" for what, n in sorted(left.items())))
    out += sorted(lines + _kept(earlier, "kills", measured))
    errors = sorted({(r["path"], r["fault"], r["error"][-200:]) for r in rows if r["error"]})
    said = sorted([f"- {path}, {fault}: `{error.strip()}`" for path, fault, error in errors]
                  + _kept(earlier, "errors", measured))
    if said:
        out += ["", "### How the failed runs said why", ""] + said
    bad = sorted([f"- {r['path']}, {r['fault']}, seed {r['seed']}: {'; '.join(r['violations'])}"
                  for r in rows if r["violations"]] + _kept(earlier, "violations", measured))
    if bad:
        out += ["", "### Violations", ""] + bad
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
    parser.add_argument("--seeds", type=int, default=2, help="repeats of each network fault case")
    parser.add_argument("--kill-seeds", type=int, default=45, help="kills per path (5 paths)")
    parser.add_argument("--mover-seeds", type=int, default=4,
                        help="mover kills per path (on the real node: slow, and shared with other sessions)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which parts to run ({', '.join(PARTS)})")
    parser.add_argument("--stores", help="the stores of the store faults (default: minio,azurite,gcs)")
    parser.add_argument("--keep-earlier", action="store_true",
                        help="keep the page's rows for the pairs this run does not measure")
    parser.add_argument("--select", help="a pytest -k expression, to run part of the sweep")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md",
                        help="written between its sweep markers (the rest of the page is kept)")
    parser.add_argument("--from-results", type=Path, nargs="+",
                        help="only write the table from earlier runs' JSON lines (one file or more)")
    args = parser.parse_args()
    command = "python benchmarks/fault_sweep.py " + " ".join(sys.argv[1:])
    if args.from_results:
        files, code, seconds = args.from_results, 0, 0.0
    else:
        files = [Path(tempfile.mkstemp(prefix="fault-sweep-", suffix=".jsonl")[1])]
        code, seconds = run_sweep(args.seeds, args.kill_seeds, args.mover_seeds, files[0], args.select, args.parts.split(","),
                                  args.stores)
    results = " ".join(map(str, files))
    rows = [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]
    text = (table(rows, seconds, command, earlier_rows(args.out) if args.keep_earlier else None)
            + details(rows, earlier_details(args.out) if args.keep_earlier else None))
    write_between_markers(args.out, text)
    print(text)
    print(f"results: {results} (JSON lines); table: {args.out}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
