"""Run one ``salvage`` command in a subprocess, as a user would, optionally killed (SIGKILL)
after a delay: each run's exit, time and output are recorded for the checker and the table.

A kill's delay counts from the run's start, or, with ``armed_by``, from the moment the run
first changed something (the condition became true: its lock or first object on the store,
its first object in the cluster). Interpreter start-up and the read-only checks before the
first write take about 1 s of a 2-5 s run; a kill landing there tests nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

POLL = 0.02  # how often ``armed_by`` is asked while the run goes on


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int  # -9 when killed
    seconds: float
    stdout: str
    stderr: str
    armed_at: float | None = None  # seconds from start to the first change, when watched

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def finished(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        tail = " ".join(self.stderr.split())[-600:]
        return f"salvage {' '.join(self.args)} -> {self.returncode} in {self.seconds:.1f}s: {tail}"


def salvage(kubeconfig: Path, *args: str, env: dict[str, str] | None = None, kill_after: float | None = None,
            timeout: float = 300, armed_by: Callable[[], bool] | None = None) -> Run:
    """``python -m salvage --kubeconfig KUBECONFIG ARGS``; with ``kill_after`` it gets SIGKILL
    that many seconds after it started (after ``armed_by()`` first held, when given), unless it
    finished first. Without ``kill_after``, ``armed_by`` only measures when the first change came."""
    argv = [sys.executable, "-m", "salvage", "--kubeconfig", str(kubeconfig), *args]
    environ = {**os.environ, "NO_COLOR": "1", **(env or {})}
    started = time.monotonic()
    with open(os.devnull, "rb") as stdin:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=environ)
    if armed_by is None:
        return _plain(proc, args, started, kill_after, timeout)
    output: dict[str, str] = {}
    reader = threading.Thread(target=lambda: output.update(zip(("out", "err"), proc.communicate())), daemon=True)
    reader.start()
    armed_at: float | None = None
    deadline = started + timeout
    while reader.is_alive():
        now = time.monotonic()
        if armed_at is None and armed_by():
            armed_at = time.monotonic() - started
        if kill_after is not None and armed_at is not None and now - started >= armed_at + kill_after:
            proc.send_signal(signal.SIGKILL)
            break
        if now > deadline:
            proc.kill()
            reader.join()
            raise AssertionError(f"salvage {' '.join(args)} did not end within {timeout:.0f}s:\n"
                                 f"{output.get('err', '')[-2000:]}")
        reader.join(POLL)
    reader.join()
    return Run(tuple(args), proc.returncode, time.monotonic() - started, output.get("out", ""),
               output.get("err", ""), armed_at)


def _plain(proc: subprocess.Popen[str], args: tuple[str, ...], started: float, kill_after: float | None,
           timeout: float) -> Run:
    try:
        out, err = proc.communicate(timeout=kill_after if kill_after is not None else timeout)
    except subprocess.TimeoutExpired:
        if kill_after is None:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"salvage {' '.join(args)} did not end within {timeout:.0f}s:\n{err[-2000:]}") \
                from None
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
    return Run(tuple(args), proc.returncode, time.monotonic() - started, out, err)


@contextmanager
def when(condition: Callable[[], bool], act: Callable[[], None], *, after: float = 0.0) -> Iterator[threading.Event]:
    """Do ``act`` once, ``after`` seconds from the moment ``condition`` first holds (checked
    every 20 ms) during the block; the event it yields says whether it happened."""
    stop, done = threading.Event(), threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if condition():
                if stop.wait(after):
                    return
                act()
                done.set()
                return
            stop.wait(POLL)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield done
    finally:
        stop.set()
        watcher.join()
