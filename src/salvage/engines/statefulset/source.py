"""Where ``statefulset recover`` takes a StatefulSet and its volumes from.

A source answers recover's questions (which StatefulSet, its Service, which claims it has
data for) and, once the plan is made, gives each claim it re-creates its data. Implemented
by a backup (``backup_source.py``) and by VolumeSnapshots already in the namespace
(``snapshot_source.py``). Every method but ``prepare`` only reads: recover refuses bad
input before it changes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from salvage.model.errors import SalvageError
from salvage.volumes.method import ClaimSource

JSON = dict[str, Any]


class NoVolumeDataError(SalvageError):
    """The source holds no data for any claim of the StatefulSet; nothing was changed."""


@dataclass(frozen=True)
class ClaimVolume:
    """The data a source has for one claim the StatefulSet expects."""

    claim: str
    ordinal: int
    origin: str  # what the plan shows: a VolumeSnapshot, a snapshot handle, a repository snapshot


class RecoverySource(Protocol):
    # Names the source in plans and errors: "backup 'nightly'", "VolumeSnapshots labelled app=web".
    description: str

    def statefulset(self, manifest: JSON | None) -> JSON:
        """The StatefulSet to re-create: ``manifest`` (the user's own, used unchanged) or the
        source's; refuses when there is none."""

    def service(self, name: str) -> JSON | None:
        """The governing Service, to create when it is missing (None: the source has none)."""

    def volumes(self, statefulset: JSON, ordinals: tuple[int, ...]) -> dict[str, ClaimVolume]:
        """By claim name, the data this source has for the claims of ``ordinals`` (a claim
        left out has none); refuses when it has none at all."""

    def check(self, volumes: Iterable[ClaimVolume]) -> None:
        """Refuse now what ``prepare`` could not do for these volumes (reads only)."""

    def prepare(self, volume: ClaimVolume, claim: JSON, namespace: str, *, timeout: float) -> ClaimSource:
        """The source of ``claim``, the body about to be created in ``namespace``."""
