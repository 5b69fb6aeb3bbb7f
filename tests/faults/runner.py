"""Run one ``salvage`` command in a subprocess, as a user would, optionally killed (SIGKILL)
after a delay: each run's exit, time and output are recorded for the checker and the table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int  # -9 when killed
    seconds: float
    stdout: str
    stderr: str

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
            timeout: float = 300) -> Run:
    """``python -m salvage --kubeconfig KUBECONFIG ARGS``; with ``kill_after`` it gets SIGKILL
    that many seconds after it started (unless it finished first)."""
    argv = [sys.executable, "-m", "salvage", "--kubeconfig", str(kubeconfig), *args]
    environ = {**os.environ, "NO_COLOR": "1", **(env or {})}
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)
    try:
        out, err = proc.communicate(timeout=kill_after if kill_after is not None else timeout)
    except subprocess.TimeoutExpired:
        if kill_after is None:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"salvage {' '.join(args)} did not end within {timeout:.0f}s:\n{err[-2000:]}")
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
    return Run(tuple(args), proc.returncode, time.monotonic() - started, out, err)
