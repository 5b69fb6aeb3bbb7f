"""Listing a collection for a backup: every item with the server's own JSON text, the next
page already on its way while the caller writes this one.

A backup stores each item as the server sent it (docs/FORMAT.md), so the text of each item
is cut out of the page rather than serialised again from the parsed object; only
``apiVersion`` and ``kind``, which list responses leave out per item, are put in front.
The stdlib decoder parses the page item by item (``raw_decode`` says where each ends), so
the page is parsed once, as ``response.json()`` would. While the caller handles a page's
items, one helper thread fetches the next page (its ``continue`` token is in the page), so
the server's work on it overlaps with the caller's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

from salvage.k8s.client import JSON, KubeClient

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


class Listed(NamedTuple):
    """One item: the parsed object, and its JSON text on one line (the same content)."""

    obj: JSON
    text: str


def list_objects(client: KubeClient, path: str, *, api_version: str, kind: str, limit: int = 500,
                 params: dict[str, Any] | None = None) -> Iterator[Listed]:
    """Every item of the collection at ``path``, page by page, with ``apiVersion`` and
    ``kind`` filled in where the server left them out (in the object and its text).

    Errors are raised where :meth:`KubeClient.list` raises them: a page's error after the
    items of the pages before it."""
    query = dict(params or {}, limit=limit)
    with ThreadPoolExecutor(1, thread_name_prefix="salvage-list") as pool:
        pending: Future[bytes] | None = pool.submit(client.get_bytes, path, query)
        try:
            while pending is not None:
                fields, items = split_list(pending.result())
                cont = (fields.get("metadata") or {}).get("continue")
                pending = pool.submit(client.get_bytes, path, {**query, "continue": cont}) if cont else None
                for obj, text in items:
                    yield _typed(obj, text, api_version, kind)
        finally:
            if pending is not None:
                pending.cancel()  # the caller stopped early: a page not yet asked for is not asked for


def split_list(body: bytes) -> tuple[JSON, list[tuple[Any, str]]]:
    """A list response's other fields (``metadata``, ``kind``...) and its items, each with
    its JSON text as it appears in ``body``."""
    text = body.decode("utf-8")
    fields: JSON = {}
    items: list[tuple[Any, str]] = []
    i = _expect(text, _skip(text, 0), "{")
    if text.startswith("}", i):
        return fields, items
    while True:
        key, i = _DECODER.raw_decode(text, i)
        i = _expect(text, _skip(text, i), ":")
        if key == "items" and text.startswith("[", i):
            i = _skip(text, i + 1)
            while not text.startswith("]", i):
                obj, end = _DECODER.raw_decode(text, i)
                items.append((obj, text[i:end]))
                i = _skip(text, end)
                if text.startswith(",", i):
                    i = _skip(text, i + 1)
                elif not text.startswith("]", i):
                    raise _bad(text, i, "',' or ']'")
            i += 1
        else:
            fields[key], i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if text.startswith("}", i):
            return fields, items
        i = _expect(text, i, ",")


def _typed(obj: Any, text: str, api_version: str, kind: str) -> Listed:
    if not isinstance(obj, dict):
        return Listed(obj, text)
    missing = [(key, value) for key, value in (("apiVersion", api_version), ("kind", kind)) if key not in obj]
    if "\n" in text or "\r" in text:
        # Pretty-printed (a proxy, an aggregated server): one line is what a resource file
        # holds, so this item is written by us after all.
        for key, value in missing:
            obj[key] = value
        return Listed(obj, json.dumps(obj, separators=(",", ":")))
    if not missing:
        return Listed(obj, text)
    head = ",".join(f"{json.dumps(key)}:{json.dumps(value)}" for key, value in missing)
    for key, value in missing:
        obj[key] = value
    rest = text[1:]
    return Listed(obj, "{" + head + ("," if len(obj) > len(missing) else "") + rest)


def _skip(text: str, i: int) -> int:
    match = _SPACE.match(text, i)
    return match.end() if match else i


def _expect(text: str, i: int, char: str) -> int:
    if not text.startswith(char, i):
        raise _bad(text, i, repr(char))
    return _skip(text, i + 1)


def _bad(text: str, i: int, wanted: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(f"expected {wanted} in a list response", text, i)
