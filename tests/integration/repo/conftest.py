"""Repository tests on the real cluster: the CLI fixtures of the engine tests."""

from __future__ import annotations

from tests.integration.engines.conftest import salvage

__all__ = ["salvage"]
