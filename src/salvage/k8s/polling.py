"""Wait for a condition on the cluster that no single object shows (several pods, a list):
polled until true or a deadline. One object's condition is watched instead (waiting.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from salvage.model.errors import KubernetesError, NotReadyError


def transient(exc: KubernetesError) -> bool:
    """The server could not be reached, was busy or restarting (after the client's own
    retries): worth asking again while a wait lasts."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def not_yet(exc: KubernetesError) -> bool:
    """An error that means "not there yet" to a wait: absent (404), a conflict (409), or transient."""
    return exc.status in (404, 409) or transient(exc)


def poll(condition: Callable[[], bool], deadline: float, *, interval: float = 0.25,
         tolerate: Callable[[KubernetesError], bool] = lambda exc: True) -> bool:
    """Whether ``condition`` became true before ``deadline`` (``time.monotonic``); an API
    error on the way that ``tolerate`` accepts counts as not yet (by default any: the server
    may be busy or restarting), any other is raised."""
    while True:
        try:
            if condition():
                return True
        except KubernetesError as exc:
            if not tolerate(exc):
                raise
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def wait_until(condition: Callable[[], bool], deadline: float, what: str, *, interval: float = 0.25) -> None:
    """Poll ``condition`` until true; ``NotReadyError`` ("Timed out waiting for {what}.") at
    ``deadline``. Errors other than :func:`not_yet` ones are raised at once, as is any
    ``NotReadyError`` the condition raises (a pod that can never start)."""
    if not poll(condition, deadline, interval=interval, tolerate=not_yet):
        raise NotReadyError(f"Timed out waiting for {what}.")
