"""Where the dev cluster keeps its builds (cache) and its running clusters (state)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Build cache shared by every cluster: ``$SALVAGE_CACHE_DIR`` or ``~/.cache/salvage``."""
    env = os.environ.get("SALVAGE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "salvage"


def state_root() -> Path:
    """Per-cluster state: ``$SALVAGE_STATE_DIR`` or ``~/.local/state/salvage/clusters``."""
    env = os.environ.get("SALVAGE_STATE_DIR")
    return Path(env) if env else user_state_dir() / "clusters"


def user_state_dir() -> Path:
    """``~/.local/state/salvage`` (``$XDG_STATE_HOME/salvage``)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "salvage"
