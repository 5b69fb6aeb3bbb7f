"""Waits on the cluster, both kinds: one object watched until a test holds (``wait_for``,
``delete_and_wait``), and conditions no single object shows (several pods, a list) polled
until true or a deadline (``wait_until``, ``poll``).

``wait_for`` reads the object, and while it is not there yet watches it (the collection's
watch narrowed to its name, from the version read), testing each change as it arrives.
When the watch cannot be had or ends early (forbidden, not supported by a fake, an
expired version, a broken stream, the server's own timeout) it reads the object again, no
sooner than one poll interval after the last read: so the wait never depends on the watch,
and a cluster that serves watches answers within milliseconds of the change instead of a
poll interval later."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from salvage.k8s.client import KubeClient
from salvage.k8s.watch import watch_events
from salvage.model.errors import KubernetesError, NotReadyError

JSON = dict[str, Any]
Done = Callable[[JSON | None], bool]

_UNREAD = object()  # the object could not be read this time (a transient error)


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


def wait_for(client: KubeClient, path: str, done: Done, deadline: float, what: str, *,
             interval: float = 0.25) -> JSON | None:
    """The object at ``path`` once ``done`` says so of it (``done`` sees None while there is
    no such object: waiting for a deletion is ``lambda obj: obj is None``). ``deadline`` is a
    ``time.monotonic`` time; past it, ``NotReadyError`` ("Timed out waiting for {what}.").
    An exception from ``done`` ends the wait (a pod that can never start); a 404 is absence;
    other errors that are :func:`not_yet` count as not yet."""
    collection, name = path.rsplit("/", 1)
    while True:
        read_at = time.monotonic()
        current = _read(client, path)
        if current is not _UNREAD and done(current):  # type: ignore[arg-type]
            return current  # type: ignore[return-value]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NotReadyError(f"Timed out waiting for {what}.")
        if current is not _UNREAD:
            found = _watch(client, collection, name, current, done, remaining)  # type: ignore[arg-type]
            if found is not _UNREAD:
                return found  # type: ignore[return-value]
        time.sleep(max(0.0, min(interval - (time.monotonic() - read_at), deadline - time.monotonic())))


def delete_and_wait(client: KubeClient, path: str, deadline: float, what: str, **params: Any) -> None:
    """Delete the object at ``path`` if it is there (``params``: propagationPolicy, ...) and
    wait until it is gone (its finalizers done)."""
    client.delete_if_present(path, **params)
    wait_for(client, path, lambda obj: obj is None, deadline, f"{what} to be deleted")


def _read(client: KubeClient, path: str) -> JSON | None | object:
    try:
        return client.get(path)
    except KubernetesError as exc:
        if exc.status == 404:
            return None
        if not_yet(exc):
            return _UNREAD
        raise


def _watch(client: KubeClient, collection: str, name: str, current: JSON | None, done: Done,
           remaining: float) -> JSON | None | object:
    """The first state the watch shows that is ``done``; ``_UNREAD`` when the watch ends first."""
    version = ((current or {}).get("metadata") or {}).get("resourceVersion", "")
    try:
        for event in watch_events(client, collection, version, timeout_seconds=max(1, math.ceil(remaining)),
                                  field_selector=f"metadata.name={name}", read_timeout=remaining + 5):
            kind = event.get("type")
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                obj = None if kind == "DELETED" else event.get("object")
                if done(obj):
                    return obj
            elif kind == "ERROR":
                return _UNREAD  # an expired version (410) or another refusal: read again
    except (KubernetesError, ValueError):
        pass  # no watch here (forbidden, a fake, a broken stream): poll instead
    return _UNREAD
