"""Watching a collection: list, then stream its changes (raw JSON events) from there on.

The informer pattern without a cache: ``changes`` yields every object once from a list,
then each ADDED/MODIFIED/DELETED object of the watch; when the server has forgotten our
place (410 Gone) or the stream ends, it lists again, so a consumer that reconciles
level-triggered (reads the object, acts on what it sees) misses nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError

JSON = dict[str, Any]


def watch_events(client: KubeClient, path: str, resource_version: str, *, timeout_seconds: int = 300,
                 field_selector: str | None = None, read_timeout: float | None = None) -> Iterator[JSON]:
    """The watch events of ``path`` after ``resource_version`` (empty: from now, with an ADDED
    event for each object there is), until the server closes the stream; a 410 (expired
    version) arrives as an ERROR event, as the server sends it. ``read_timeout`` bounds a
    silent stream (default: the server's timeout and 30 s more)."""
    params = {"watch": "1", "resourceVersion": resource_version, "timeoutSeconds": str(timeout_seconds),
              "allowWatchBookmarks": "true"}
    if field_selector:
        params["fieldSelector"] = field_selector
    read = read_timeout if read_timeout is not None else timeout_seconds + 30
    try:
        with client.http.stream("GET", path, params=params, timeout=httpx.Timeout(min(30.0, read), read=read)) \
                as response:
            if response.status_code >= 400:
                response.read()
                raise KubernetesError(f"WATCH {path}: {response.text.strip()}", status=response.status_code)
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)
    except httpx.HTTPError as exc:
        raise KubernetesError(f"The watch of {path} at {client.connection.server} broke: {exc}") from exc


def changes(client: KubeClient, path: str, stop: threading.Event, *, timeout_seconds: int = 300) -> Iterator[tuple[str, JSON]]:
    """(event type, object) for every object of ``path``: first ("SYNC", obj) for each listed
    one, then the watch's events; lists again when the watch ends or expires. API errors
    propagate (the caller decides how to back off)."""
    while not stop.is_set():
        page = client.get(path)
        for obj in page.get("items") or []:
            yield "SYNC", obj
        version = (page.get("metadata") or {}).get("resourceVersion", "")
        while not stop.is_set():
            expired = False
            for event in watch_events(client, path, version, timeout_seconds=timeout_seconds):
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    expired = True  # 410 Gone (or another error status): list again
                    break
                version = (obj.get("metadata") or {}).get("resourceVersion", version)
                if kind != "BOOKMARK":
                    yield str(kind), obj
                if stop.is_set():
                    return
            if expired:
                break
