"""Start, identify and stop the detached processes of a local cluster.

A process is recorded by pid *and* kernel start time, so a pid reused by an unrelated
program after a reboot or a crash is never signalled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    start_time: int

    def to_json(self) -> dict[str, int]:
        return {"pid": self.pid, "start_time": self.start_time}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> ProcessRecord:
        return cls(pid=int(data["pid"]), start_time=int(data["start_time"]))


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> ProcessRecord:
    """Start ``argv`` detached from this process (own session), output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(("\n$ " + " ".join(argv) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=env, close_fds=True,
        )
    return ProcessRecord(proc.pid, _start_time(proc.pid) or 0)


def is_alive(record: ProcessRecord) -> bool:
    stat = _stat(record.pid)
    return stat is not None and stat[1] != "Z" and stat[2] == record.start_time


def stop(record: ProcessRecord, *, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; a no-op for a process already gone."""
    if not is_alive(record):
        _reap(record.pid)
        return
    _signal(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(record.pid)
        if not is_alive(record):
            return
        time.sleep(0.05)
    _signal(record.pid, signal.SIGKILL)
    _reap(record.pid)


def kill(record: ProcessRecord) -> None:
    """SIGKILL at once, as a crash would: no handler runs, nothing is finished."""
    if is_alive(record):
        _signal(record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while is_alive(record) and time.monotonic() < deadline:
            _reap(record.pid)
            time.sleep(0.02)
    _reap(record.pid)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _stat(pid: int) -> tuple[int, str, int] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    rest = raw[raw.rindex(")") + 2 :].split()
    return pid, rest[0], int(rest[19])


def _start_time(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[2] if stat else None


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
