"""What a backup on a location holds, read from its catalog (not through the command line)."""

from __future__ import annotations

from salvage.catalog.reader import BackupReader
from salvage.locations import open_location


def backed_up(backup: str, location: str | None = None) -> set[tuple[str, str, str]]:
    """Every object in ``backup`` as (resource, namespace, name); resource is ``plural[.group]``."""
    reader = BackupReader(open_location(location).store, backup)
    return {
        (f"{entry['resource']}.{entry['group']}" if entry["group"] else entry["resource"],
         item["metadata"].get("namespace", ""), item["metadata"]["name"])
        for entry in reader.resources() for item in reader.items(entry)
    }


def names_of(objects: set[tuple[str, str, str]], resource: str, namespace: str = "") -> set[str]:
    """The names of one resource's objects (in ``namespace``, if given)."""
    return {name for res, ns, name in objects if res == resource and (not namespace or ns == namespace)}
