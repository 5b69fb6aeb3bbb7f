"""Waiting on a cloud's long-running work (a snapshot completing, a disk becoming ready),
shared by the cloud-disk methods; each passes its own translation of the SDK's errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from salvage.model.errors import CloudError


def poll(done: Callable[[], object], *, timeout: float, interval: float, what: str, hint: str,
         translated: Callable[[str], AbstractContextManager[None]]) -> None:
    """Call ``done`` until it returns something truthy; CloudError naming ``what`` after
    ``timeout`` seconds. Each call runs inside ``translated``, so SDK errors surface as ours."""
    deadline = time.monotonic() + timeout
    while True:
        with translated(f"waiting for {what}"):
            if done():
                return
        if time.monotonic() > deadline:
            raise CloudError(f"{what} was not ready within {timeout:.0f}s.", hint=hint)
        time.sleep(interval)
