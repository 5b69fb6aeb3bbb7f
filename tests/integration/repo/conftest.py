"""Repository tests on the real cluster: the CLI fixtures of the engine tests."""

from __future__ import annotations

from tests.integration.engines.conftest import salvage, salvage_home

__all__ = ["salvage", "salvage_home"]
