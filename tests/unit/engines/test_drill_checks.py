"""A drill's volume checks read the restore's ``volume-digest`` events as they are."""

from __future__ import annotations

from typing import Any

from salvage.engines.drill_checks import Check, digest_checks
from salvage.model.progress import VolumeDigest

NAMESPACES = {"wp": "wp-drill-1"}


def _record(pvc: str, digest: str | None = "sha256:a", method: str = "fs") -> dict[str, Any]:
    return {"namespace": "wp", "pvc": pvc, "method": method, **({"treeDigest": digest} if digest else {})}


def test_each_volume_is_checked_against_its_digest_event() -> None:
    records = [_record("same"), _record("changed"), _record("unfilled"), _record("snap", None, "csi-snapshot"),
               _record("db", method="postgresql"), {**_record("other"), "namespace": "elsewhere"}]
    outcomes = {
        ("wp", "same"): VolumeDigest("wp", "same", "sha256:a", "sha256:a", True),
        ("wp", "changed"): VolumeDigest.from_json("wp", "changed", "sha256:a", {
            "matches": False, "restored": "sha256:b", "differences": ["x: content differs", "y: missing"]}),
    }
    assert digest_checks(records, outcomes, NAMESPACES) == [  # type: ignore[arg-type]
        Check("volume-digest wp-drill-1/same", True, "sha256:a as recorded"),
        Check("volume-digest wp-drill-1/changed", False,
              "sha256:b is not the recorded sha256:a: x: content differs; y: missing"),
        Check("volume-digest wp-drill-1/unfilled", False, "the volume was not filled, so its digest was not compared"),
        Check("volume-digest wp-drill-1/snap", True,
              "no tree digest recorded (method csi-snapshot); its data was restored as verified by that method"),
    ]


def test_a_mover_without_a_digest_fails_the_check_and_says_why() -> None:
    outcomes = {("wp", "data"): VolumeDigest.from_json("wp", "data", "sha256:a", {})}
    [check] = digest_checks([_record("data")], outcomes, NAMESPACES)  # type: ignore[list-item]
    assert not check.passed
    assert check.detail == "no digest is not the recorded sha256:a: the mover reported no digest (an older image?)"
