"""Which VolumeSnapshot each claim of a StatefulSet is recovered from (pure; no I/O).

Two ways to say it: ``--from-snapshots`` lists them (``snap-a,snap-b`` in ordinal order, or
``CLAIM=SNAPSHOT`` pairs), and ``--snapshot-selector`` picks, per claim, the newest ready
snapshot taken of it (``spec.source.persistentVolumeClaimName``).
"""

from __future__ import annotations

from typing import Any

from salvage.engines.statefulset.naming import (
    claim_name,
    claim_ordinal,
    format_ordinals,
)
from salvage.model.errors import UsageError
from salvage.volumes.csi_snapshots import is_ready


def parse_snapshot_list(text: str, templates: list[str], statefulset: str,
                        ordinals: tuple[int, ...]) -> dict[str, str]:
    """``--from-snapshots`` as {claim: snapshot}. A plain list fills ``ordinals`` in order
    (the StatefulSet must have one claim template); pairs name their claims."""
    items = [part.strip() for part in text.split(",")]
    if not text.strip() or not all(items):
        raise UsageError(f"--from-snapshots {text!r} has an empty entry.",
                         hint="Write snap-a,snap-b,... or CLAIM=SNAPSHOT,... without empty entries.")
    paired = ["=" in item for item in items]
    if any(paired) and not all(paired):
        raise UsageError(f"--from-snapshots {text!r} mixes a plain list with CLAIM=SNAPSHOT pairs.",
                         hint="Use one form: snap-a,snap-b,... or CLAIM=SNAPSHOT,...")
    if all(paired):
        return _pairs(items, templates, statefulset, ordinals)
    if len(templates) != 1:
        examples = ",".join(f"{claim_name(t, statefulset, ordinals[0] if ordinals else 0)}=SNAPSHOT"
                            for t in templates)
        raise UsageError(f"StatefulSet {statefulset} has {len(templates)} claim templates ({', '.join(templates)}); "
                         "a plain list of snapshots cannot say which claim each fills.",
                         hint=f"Name each claim: --from-snapshots {examples}.")
    if len(items) > len(ordinals):
        raise UsageError(f"--from-snapshots names {len(items)} snapshots for {len(ordinals)} ordinal(s) "
                         f"({format_ordinals(ordinals)}) of StatefulSet {statefulset}.",
                         hint="Give one snapshot per ordinal, in ordinal order.")
    return {claim_name(templates[0], statefulset, o): snapshot for o, snapshot in zip(ordinals, items, strict=False)}


def _pairs(items: list[str], templates: list[str], statefulset: str, ordinals: tuple[int, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        claim, _, snapshot = (part.strip() for part in item.partition("="))
        if not claim or not snapshot:
            raise UsageError(f"--from-snapshots entry {item!r} is not CLAIM=SNAPSHOT.")
        ordinal = claim_ordinal_of(claim, templates, statefulset)
        if ordinal is None:
            expected = ", ".join(f"{t}-{statefulset}-<ordinal>" for t in templates)
            raise UsageError(f"{claim!r} is not a claim of StatefulSet {statefulset}: its claims are named {expected}.",
                             hint=f"Write e.g. {claim_name(templates[0], statefulset, 0)}=SNAPSHOT.")
        if ordinal not in ordinals:
            raise UsageError(f"{claim}={snapshot} is for ordinal {ordinal}, which is not recovered "
                             f"(ordinals {format_ordinals(ordinals)}).",
                             hint="Drop the pair, or include its ordinal with --ordinals.")
        if claim in out:
            raise UsageError(f"--from-snapshots names claim {claim} twice ({out[claim]} and {snapshot}).")
        out[claim] = snapshot
    return out


def claim_ordinal_of(claim: str, templates: list[str], statefulset: str) -> int | None:
    """The ordinal of ``claim`` if it is one of this StatefulSet's claims for any template."""
    for template in templates:
        ordinal = claim_ordinal(claim, template, statefulset)
        if ordinal is not None:
            return ordinal
    return None


def snapshot_claim(snapshot: dict[str, Any]) -> str | None:
    """The claim a VolumeSnapshot was taken of (None for a pre-provisioned one)."""
    return ((snapshot.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName")


def newest_ready_per_claim(snapshots: list[dict[str, Any]], templates: list[str], statefulset: str,
                           ordinals: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """For each claim of ``ordinals``, the newest ready snapshot taken of it."""
    out: dict[str, dict[str, Any]] = {}
    for snapshot in sorted(snapshots, key=_taken_at):
        claim = snapshot_claim(snapshot)
        if claim and is_ready(snapshot) and claim_ordinal_of(claim, templates, statefulset) in ordinals:
            out[claim] = snapshot  # sorted oldest first: the newest wins
    return out


def _taken_at(snapshot: dict[str, Any]) -> tuple[str, str, str]:
    # creationTime is when the driver cut the snapshot; RFC 3339 UTC strings sort by time.
    status = snapshot.get("status") or {}
    meta = snapshot.get("metadata") or {}
    created = str(meta.get("creationTimestamp") or "")
    return str(status.get("creationTime") or created), created, str(meta.get("name"))
