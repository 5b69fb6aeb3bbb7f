"""The recover plan's one rule: remove only what is proven gone, never what holds data."""

from __future__ import annotations

from salvage.engines.statefulset.plan import (
    Action,
    ClaimObservation,
    decide,
    statefulset_action,
)
from salvage.volumes.presence import Presence


def _bound(presence: Presence) -> ClaimObservation:
    return ClaimObservation(0, "c", claim_phase="Bound", volume="pvc-1", volume_exists=True, presence=presence)


def test_absent_claim_is_created() -> None:
    step = decide(ClaimObservation(0, "log-web-0"), force=False)
    assert (step.action, step.remove_claim, step.remove_volume) == (Action.CREATE, False, None)


def test_claim_with_existing_data_is_kept_even_with_force() -> None:
    for force in (False, True):
        step = decide(_bound(Presence.PRESENT), force=force)
        assert step.action is Action.KEEP and not step.remove_claim and step.remove_volume is None


def test_dangling_claim_and_volume_are_replaced_when_the_volume_is_gone() -> None:
    step = decide(_bound(Presence.GONE), force=False)
    assert (step.action, step.remove_claim, step.remove_volume) == (Action.REPLACE, True, "pvc-1")


def test_unprovable_volume_needs_force() -> None:
    seen = _bound(Presence.UNKNOWN)
    assert decide(seen, force=False).action is Action.BLOCKED
    forced = decide(seen, force=True)
    assert forced.action is Action.REPLACE and forced.remove_volume == "pvc-1"


def test_claim_whose_pv_is_gone_or_that_never_bound_holds_no_data() -> None:
    lost = decide(ClaimObservation(0, "c", claim_phase="Lost", volume="pvc-1", volume_exists=False), force=False)
    assert lost.action is Action.REPLACE and lost.remove_claim and lost.remove_volume is None
    pending = decide(ClaimObservation(0, "c", claim_phase="Pending"), force=False)
    assert pending.action is Action.REPLACE


def test_leftover_pv_is_removed_only_when_its_volume_is_gone() -> None:
    gone = decide(ClaimObservation(0, "c", leftover_volume="old", leftover_presence=Presence.GONE), force=False)
    assert gone.action is Action.CREATE and gone.remove_volume == "old"
    kept = decide(ClaimObservation(0, "c", leftover_volume="old", leftover_presence=Presence.PRESENT), force=True)
    assert kept.action is Action.CREATE and kept.remove_volume is None
    unknown = ClaimObservation(0, "c", leftover_volume="old", leftover_presence=Presence.UNKNOWN)
    assert decide(unknown, force=False).remove_volume is None
    assert decide(unknown, force=True).remove_volume == "old"


def test_statefulset_is_recreated_only_when_a_claim_changes() -> None:
    keep = decide(_bound(Presence.PRESENT), force=False)
    create = decide(ClaimObservation(1, "d"), force=False)
    assert statefulset_action(False, [keep]) == "create"
    assert statefulset_action(True, [keep]) == "keep"
    assert statefulset_action(True, [keep, create]) == "re-create"


def test_a_claim_left_half_filled_is_replaced_though_its_volume_exists() -> None:
    """A recover killed mid-fill left the claim bound to a volume holding part of the backup;
    the next run re-creates it (before: kept as a claim with data, the pods started on it)."""
    seen = ClaimObservation(0, "c", claim_phase="Bound", volume="pvc-1", volume_exists=True,
                            presence=Presence.PRESENT, half_filled="repository snapshot 1a2b")
    step = decide(seen, force=False)
    assert step.action is Action.REPLACE and step.remove_claim and step.remove_volume is None
    assert "holds only part of its files" in step.reason and "1a2b" in step.reason
