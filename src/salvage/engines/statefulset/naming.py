"""The names StatefulSets give their claims and pods, and the names rotation gives successors."""

from __future__ import annotations

import re
from typing import Any

from salvage.model.errors import UsageError

# Annotations rotation leaves on a successor, so the next rotation names the one after it.
BASE_ANNOTATION = "statefulset.salvage.io/base-name"
REVISION_ANNOTATION = "statefulset.salvage.io/revision"
SNAPSHOT_ANNOTATION = "statefulset.salvage.io/snapshot"

# Pods get a controller-revision-hash label of "<name>-<10 chars>", which must fit in 63.
MAX_STATEFULSET_NAME = 52


def claim_name(template: str, statefulset: str, ordinal: int) -> str:
    """The PVC the StatefulSet controller creates (and adopts) for one template and ordinal."""
    return f"{template}-{statefulset}-{ordinal}"


def pod_name(statefulset: str, ordinal: int) -> str:
    return f"{statefulset}-{ordinal}"


def claim_ordinal(claim: str, template: str, statefulset: str) -> int | None:
    """The ordinal in ``claim`` if it is one of this StatefulSet's claims for ``template``."""
    match = re.fullmatch(re.escape(f"{template}-{statefulset}-") + r"(0|[1-9][0-9]*)", claim)
    return int(match.group(1)) if match else None


def claim_templates(statefulset: dict[str, Any]) -> list[str]:
    return [t["metadata"]["name"] for t in statefulset.get("spec", {}).get("volumeClaimTemplates") or []]


def replicas_of(statefulset: dict[str, Any]) -> int:
    value = statefulset.get("spec", {}).get("replicas")
    return 1 if value is None else int(value)


def parse_ordinals(text: str | None) -> tuple[int, ...] | None:
    """``"0,2"`` or ``"0-2"`` into sorted ordinals; None means every ordinal."""
    if not text:
        return None
    out: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        low, sep, high = part.partition("-")
        if not (low.isdigit() and (not sep or high.isdigit())):
            raise UsageError(f"{part!r} is not an ordinal or a range of ordinals.",
                             hint="Write them like --ordinals 0,2 or --ordinals 0-2.")
        out.update(range(int(low), int(high or low) + 1))
    return tuple(sorted(out))


def format_ordinals(ordinals: tuple[int, ...] | list[int]) -> str:
    return ",".join(str(o) for o in ordinals)


def successor_name(name: str, annotations: dict[str, str]) -> tuple[str, int, str]:
    """(base name, revision, successor's name) for rotating StatefulSet ``name``.

    ``web`` becomes ``web-r2``, then ``web-r3``: short, ordered, and free of the snapshot's
    own name, which can be long enough to break the StatefulSet name limit.
    """
    base = annotations.get(BASE_ANNOTATION) or name
    revision = int(annotations.get(REVISION_ANNOTATION) or 1) + 1
    suffix = f"-r{revision}"
    successor = base[: MAX_STATEFULSET_NAME - len(suffix)].rstrip("-.") + suffix
    return base, revision, successor
