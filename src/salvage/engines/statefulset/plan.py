"""What ``statefulset recover`` will do to each claim, decided from what it observed (no I/O).

The one rule that matters: a claim or volume is removed only when its data is proven gone
(or the user passes ``--force`` for a volume whose state cannot be proven) — never when
its data still exists. A claim a recover or restore was filling when it stopped (it still
carries the filling annotation) holds only part of a backup's copy, nothing of the user's:
it is re-created and filled again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from salvage.volumes.presence import Presence


class Action(str, Enum):
    CREATE = "create"    # no claim: create it from the snapshot
    REPLACE = "replace"  # a dangling claim: remove it (and its PV), then create it
    KEEP = "keep"        # the claim's data exists: left alone
    BLOCKED = "blocked"  # cannot prove the data is gone; needs --force


@dataclass(frozen=True)
class ClaimObservation:
    """One claim the StatefulSet expects, as found in the cluster."""

    ordinal: int
    claim: str
    claim_phase: str | None = None  # None: no such PVC
    claim_deleting: bool = False
    volume: str | None = None       # the PV the claim is bound to
    volume_exists: bool = False
    presence: Presence | None = None
    # The backed-up PV, when it still exists but is no longer bound to the claim.
    leftover_volume: str | None = None
    leftover_presence: Presence | None = None
    # What an earlier run was filling the claim from when it stopped (None: not half-filled).
    half_filled: str | None = None


@dataclass(frozen=True)
class ClaimStep:
    ordinal: int
    claim: str
    action: Action
    reason: str
    remove_claim: bool = False
    remove_volume: str | None = None
    source: str = ""  # where a re-created claim's data comes from (for the plan)

    @property
    def changes(self) -> bool:
        return self.action in (Action.CREATE, Action.REPLACE)


def decide(seen: ClaimObservation, *, force: bool, source: str = "") -> ClaimStep:
    def step(action: Action, reason: str, *, claim: bool = False, volume: str | None = None) -> ClaimStep:
        return ClaimStep(seen.ordinal, seen.claim, action, reason, claim, volume, source)

    if seen.claim_phase is None:
        return _absent(seen, force, step)
    if seen.claim_deleting:
        return step(Action.REPLACE, "the claim is being deleted; re-created once it is gone", claim=True)
    if seen.half_filled:
        return step(Action.REPLACE, f"holds only part of its files (a run filling it from {seen.half_filled} "
                                    "stopped before it finished): re-created and filled again", claim=True)
    if not seen.volume:
        return step(Action.REPLACE, f"the claim is {seen.claim_phase} with no volume: it holds no data", claim=True)
    if not seen.volume_exists:
        return step(Action.REPLACE, f"dangling: its PV {seen.volume} no longer exists", claim=True)
    if seen.presence is Presence.GONE:
        return step(Action.REPLACE, f"dangling: the volume of PV {seen.volume} is gone",
                    claim=True, volume=seen.volume)
    if seen.presence is Presence.PRESENT:
        return step(Action.KEEP, f"bound to PV {seen.volume}, whose data exists: left alone")
    if force:
        return step(Action.REPLACE, f"--force: PV {seen.volume}'s volume cannot be checked; replaced",
                    claim=True, volume=seen.volume)
    return step(Action.BLOCKED, f"cannot prove the volume of PV {seen.volume} is gone")


def _absent(seen: ClaimObservation, force: bool, step: Callable[..., ClaimStep]) -> ClaimStep:
    old = seen.leftover_volume
    if old is None:
        return step(Action.CREATE, "no claim")
    if seen.leftover_presence is Presence.GONE:
        return step(Action.CREATE, f"no claim; its old PV {old} is dangling (volume gone) and is removed", volume=old)
    if seen.leftover_presence is Presence.UNKNOWN and force:
        return step(Action.CREATE, f"no claim; --force: its old PV {old} is removed", volume=old)
    return step(Action.CREATE, f"no claim; its old PV {old} may still hold data and is left alone")


def missing_ordinals(wanted: tuple[int, ...], captured: set[int]) -> list[int]:
    return [o for o in wanted if o not in captured]


def statefulset_action(exists: bool, steps: list[ClaimStep]) -> str:
    """create: absent. re-create: it exists and some claim changes (its pods must let go of
    them). keep: it exists and every claim is kept."""
    if not exists:
        return "create"
    return "re-create" if any(s.changes for s in steps) else "keep"
