"""A volume's digest check as JSON (what `fs restore --expect-digest` reports, in a data
mover's result too) becomes the one ``volume-digest`` event every consumer reads."""

from __future__ import annotations

from salvage.model.progress import VolumeDigest
from salvage.repo.digest import DigestCheck


def test_a_matching_check_is_a_matching_event() -> None:
    event = VolumeDigest.from_json("wp", "data", "sha256:a", DigestCheck("sha256:a", "sha256:a").to_json())
    assert event == VolumeDigest("wp", "data", "sha256:a", "sha256:a", True, ())


def test_a_mismatch_names_the_paths_that_differ() -> None:
    check = DigestCheck("sha256:a", "sha256:b", ("etc/app.conf: content differs",))
    event = VolumeDigest.from_json("wp", "data", "sha256:a", check.to_json())
    assert (event.matches, event.restored, event.differences) == (False, "sha256:b", ("etc/app.conf: content differs",))


def test_a_mover_that_reported_no_digest_is_a_mismatch_that_says_so() -> None:
    event = VolumeDigest.from_json("wp", "data", "sha256:a", {})
    assert (event.matches, event.restored) == (False, "")
    assert event.differences == ("the mover reported no digest (an older image?)",)
