"""A marker for tests written but never yet seen passing on the real node.

The test command skips them, with the reason shown by ``-ra``, so one unproven test cannot
turn the whole run red; ``SALVAGE_TEST_UNPROVEN=1`` runs them. The issue a marked test
proves stays open until a run shows it passing and the marker goes."""

from __future__ import annotations

import os

import pytest


def not_yet_proven(issue: int, why: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        os.environ.get("SALVAGE_TEST_UNPROVEN") != "1",
        reason=f"issue {issue}: not yet seen passing on the real node ({why}); run with SALVAGE_TEST_UNPROVEN=1")


def known_failure(issue: int, why: str) -> pytest.MarkDecorator:
    """A test that fails now for a cause not yet found: skipped with that said, so it is
    not mistaken for passing; ``SALVAGE_TEST_UNPROVEN=1`` runs it."""
    return pytest.mark.skipif(
        os.environ.get("SALVAGE_TEST_UNPROVEN") != "1",
        reason=f"issue {issue}: FAILS, cause not yet found ({why}); run with SALVAGE_TEST_UNPROVEN=1")
