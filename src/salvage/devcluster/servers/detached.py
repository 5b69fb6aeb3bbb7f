"""The object-store test servers started for a user (``salvage dev servers up``), detached.

Each runs from the cached builds on loopback and outlives the command that started it,
like a local cluster: its data, log and ``server.json`` (process, endpoint, credentials)
live in ``~/.local/state/salvage/servers/<name>/`` (``$SALVAGE_SERVERS_DIR``), and
``down`` stops it and removes that directory. Each gets one bucket, ``salvage``, ready for
``salvage location add``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from salvage.devcluster.paths import user_state_dir
from salvage.devcluster.processes import ProcessRecord, is_alive, stop
from salvage.model.errors import NotFoundError, ServerError, UsageError

BUCKET = "salvage"
NAMES = ("minio", "azurite", "fake-gcs")


def servers_root() -> Path:
    env = os.environ.get("SALVAGE_SERVERS_DIR")
    return Path(env) if env else user_state_dir() / "servers"


@dataclass(frozen=True)
class RunningServer:
    """What ``server.json`` records of a server started by :func:`up`."""

    name: str
    provider: str  # the location provider: s3 | azure | gcs
    endpoint: str
    bucket: str
    process: ProcessRecord
    log_path: str
    region: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # what the provider's own tools read
    read_only: bool = False  # Salvage cannot write there (fake-gcs-server, see GCSServer)

    @property
    def alive(self) -> bool:
        return is_alive(self.process)

    def location_add(self) -> str:
        """The ``salvage location add`` line for this server's bucket."""
        words = ["salvage", "location", "add", self.name, "--provider", self.provider, "--bucket", self.bucket,
                 "--endpoint", self.endpoint]
        if self.region:
            words += ["--region", self.region]
        for key, value in self.credentials.items():
            words += ["--credential", f"{key}={value}"]
        if self.read_only:
            words += ["--access-mode", "ReadOnly"]
        return " ".join(shlex.quote(w) for w in words)

    def exports(self) -> list[str]:
        return [f"export {key}={shlex.quote(value)}" for key, value in self.env.items()]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["process"] = self.process.to_json()
        data["location_add"] = self.location_add()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunningServer:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "process": ProcessRecord.from_json(data["process"])})


def up(name: str, report: Callable[[str], None] = lambda _msg: None) -> RunningServer:
    """Start server ``name`` (or find it running) and return its record."""
    starter = _starter(name)
    workdir = servers_root() / name
    existing = _read(name)
    if existing is not None and existing.alive:
        report(f"{name} is already running at {existing.endpoint}")
        return existing
    if workdir.exists():
        raise ServerError(
            f"The {name} test server is not running, but its data is still in {workdir}.",
            hint=f"Remove it with `salvage dev servers down {name}` (its data goes too), then run `up` again.",
        )
    workdir.mkdir(parents=True)
    try:
        report(f"starting {name} ...")
        server = starter(workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    (workdir / "server.json").write_text(json.dumps(server.to_json(), indent=2) + "\n")
    (workdir / "server.json").chmod(0o600)
    return server


def down(name: str, report: Callable[[str], None] = lambda _msg: None) -> None:
    """Stop server ``name`` and remove its directory (data and log)."""
    _starter(name)
    workdir = servers_root() / name
    record = _read(name)
    if record is None and not workdir.exists():
        raise NotFoundError(f"There is no {name} test server here ({workdir}).",
                            hint="See which run with `salvage dev servers env`.")
    if record is not None:
        stop(record.process)
    shutil.rmtree(workdir, ignore_errors=True)
    report(f"{name} stopped; {workdir} removed")


def running() -> list[RunningServer]:
    """The servers started here whose process is alive, in :data:`NAMES` order."""
    records = (_read(name) for name in NAMES)
    return [r for r in records if r is not None and r.alive]


def present() -> list[str]:
    """Names with a state directory, running or not (what ``down`` with no name removes)."""
    return [name for name in NAMES if (servers_root() / name).exists()]


def _read(name: str) -> RunningServer | None:
    try:
        return RunningServer.from_json(json.loads((servers_root() / name / "server.json").read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ServerError(f"The record of the {name} test server is damaged: {exc}.",
                          hint=f"Run `salvage dev servers down {name}` to stop it and remove it.") from exc


def _starter(name: str) -> Callable[[Path], RunningServer]:
    from salvage.devcluster.servers import starters

    starter = starters.STARTERS.get(name)
    if starter is None:
        raise UsageError(f"There is no test server named {name!r}.", hint=f"Use one of: {', '.join(NAMES)}.")
    return starter
