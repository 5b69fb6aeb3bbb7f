"""The progress events every engine and volume method reports, one typed stream for every
consumer: the CLI's live display, the operator's status writes and its Prometheus metrics.

An engine takes a :data:`Progress` callback and calls it with one event at a time, from
whatever thread does the work (a backup captures resource types and volumes in parallel),
so a consumer that keeps counts must lock. Events are small frozen records; a consumer
matches on the type and ignores what it does not show. No I/O here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

Level = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Started:
    """A run began: ``operation`` is backup, restore, ...; ``name`` the run's own."""

    operation: str
    name: str


@dataclass(frozen=True)
class Step:
    """A step of the run, said in words (verifying, waiting, removing ...)."""

    message: str


@dataclass(frozen=True)
class Logged:
    """A line of a backup's log; warnings and errors are what a PartiallyFailed run says."""

    level: Level
    message: str


@dataclass(frozen=True)
class ResourceDone:
    """Every object of one resource type is written (backup: ``count`` objects) or restored
    (restore: ``count`` is None; its objects came one by one as :class:`Item` events)."""

    resource: str
    count: int | None = None


@dataclass(frozen=True)
class Item:
    """One object restored, updated, skipped, planned or failed, with the reason."""

    resource: str
    namespace: str | None
    name: str
    action: str  # created | updated | skipped | failed | planned
    reason: str = ""


@dataclass(frozen=True)
class VolumeState:
    """A claim's volume changed state: being snapshotted or copied, or ``done`` and then
    ``state`` is the method that captured it (``none``: it was not)."""

    pvc: str  # namespace/name
    state: str
    done: bool = False


@dataclass(frozen=True)
class VolumeBytes:
    """A data-mover pod's running count for one claim (about every two seconds)."""

    pvc: str
    action: str  # backup | restore
    pod: str
    files: int
    files_total: int | None
    bytes: int
    bytes_total: int | None
    bytes_per_second: int


@dataclass(frozen=True)
class VolumeMoved:
    """A data-mover pod finished one claim: ``bytes`` read (backup) or written (restore)."""

    pvc: str
    action: str
    pod: str
    seconds: float
    bytes: int
    max_rss_bytes: int


@dataclass(frozen=True)
class VolumeDigest:
    """A filled volume read back against the tree digest its backup recorded (a drill's
    check): ``differences`` names the paths when it does not match."""

    namespace: str
    pvc: str
    recorded: str
    restored: str
    matches: bool
    differences: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, namespace: str, pvc: str, recorded: str, outcome: Mapping[str, Any]) -> VolumeDigest:
        """The event for a digest check as JSON (``matches``, ``restored``, ``differences``:
        what `fs restore --expect-digest` reports, in a data mover's result too); an empty
        one, from a mover that checked nothing, is a mismatch that says so."""
        matches = bool(outcome.get("matches"))
        return cls(namespace, pvc, recorded, str(outcome.get("restored") or ""), matches,
                   () if matches else tuple(outcome.get("differences")
                                            or ["the mover reported no digest (an older image?)"]))


@dataclass(frozen=True)
class Finished:
    """A run ended in ``phase`` (Completed, PartiallyFailed, Failed, Planned)."""

    operation: str
    name: str
    phase: str


Event: TypeAlias = (Started | Step | Logged | ResourceDone | Item | VolumeState | VolumeBytes | VolumeMoved
                   | VolumeDigest | Finished)
Progress: TypeAlias = Callable[[Event], None]


def quiet(_event: Event) -> None:
    """The callback of a caller that shows nothing."""
    return None
