"""Wait for a condition on the cluster: polled until true or a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

from salvage.model.errors import KubernetesError


def poll(condition: Callable[[], bool], deadline: float, *, interval: float = 0.25) -> bool:
    """Whether ``condition`` became true before ``deadline`` (``time.monotonic``); an API
    error on the way counts as not yet (the server may be busy or restarting)."""
    while True:
        try:
            if condition():
                return True
        except KubernetesError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
