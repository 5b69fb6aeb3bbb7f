"""Start one server process on free loopback ports and wait until it answers HTTP.

Ports come from :func:`free_ports`, which releases them before the server binds, so
another program can take one in between. When the server dies during start-up and its
port is now taken, the start is retried on fresh ports instead of failing the session.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from salvage.devcluster.processes import ProcessRecord, free_ports, is_alive, port_in_use, spawn, stop
from salvage.model.errors import ServerError

Command = Callable[[list[int]], list[str]]

START_TIMEOUT = 60.0
_POLL = 0.1
_ATTEMPTS = 3
_LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Probe:
    """What "ready" means: ``GET path`` answered with one of ``statuses`` (any status if empty)."""

    path: str = "/"
    statuses: Collection[int] = ()
    host: str = "127.0.0.1"  # the address the server listens on

    def answers(self, port: int) -> bool:
        conn = http.client.HTTPConnection(self.host, port, timeout=2)
        try:
            conn.request("GET", self.path)
            status = conn.getresponse().status
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
        return not self.statuses or status in self.statuses


@dataclass(frozen=True)
class Launched:
    process: ProcessRecord
    ports: tuple[int, ...]
    log_path: Path

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def alive(self) -> bool:
        return is_alive(self.process)

    def stop(self) -> None:
        stop(self.process)


def launch(
    name: str,
    command: Command,
    probe: Probe,
    *,
    log_path: Path,
    ports: int = 1,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT,
) -> Launched:
    """Run ``command(ports)`` and return once ``probe`` passes on the first port.

    Raises :class:`ServerError` naming the log when the server exits or is not ready
    within ``timeout`` seconds; a server that is not ready is stopped, never left behind.
    """
    for attempt in range(1, _ATTEMPTS + 1):
        chosen = free_ports(ports)
        record = spawn(command(chosen), log_path, dict(env) if env is not None else None)
        outcome = _wait_ready(record, chosen[0], probe, timeout)
        if outcome == "ready":
            return Launched(record, tuple(chosen), log_path)
        stop(record)
        if outcome == "exited" and attempt < _ATTEMPTS and any(port_in_use(p) for p in chosen):
            continue  # lost a port race with another program: try fresh ports
        raise ServerError(
            f"The {name} test server {_describe(outcome, timeout)}.\n{_tail(log_path)}",
            hint=f"Its full log is {log_path}.",
        )
    raise AssertionError("unreachable")  # the last attempt always returns or raises


def _wait_ready(record: ProcessRecord, port: int, probe: Probe, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(record):
            return "exited"
        if probe.answers(port):
            return "ready"
        time.sleep(_POLL)
    return "timeout"


def _describe(outcome: str, timeout: float) -> str:
    if outcome == "exited":
        return "exited during start-up"
    return f"did not become ready within {timeout:.0f}s"


def _tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log was written)"
    return "Last lines of its log:\n" + "\n".join("  " + line for line in lines[-_LOG_TAIL_LINES:])
