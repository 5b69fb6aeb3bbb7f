"""Whether a location works: reached and listed, written (unless ReadOnly), of a format we read."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from salvage.catalog import layout
from salvage.catalog.reader import list_backups
from salvage.locations import Location
from salvage.model.errors import SalvageError


@dataclass(frozen=True)
class Check:
    name: str  # list | write | format
    result: str  # ok | FAILED | skipped
    detail: str

    @property
    def failed(self) -> bool:
        return self.result == "FAILED"


def probe_location(location: Location, *, write: bool = True) -> list[Check]:
    """Each check's result; ``write=False`` (or a ReadOnly location) never writes."""
    checks: list[Check] = []
    try:
        backups = list_backups(location.store)
        checks.append(Check("list", "ok", f"{len(backups)} backup(s)"))
    except SalvageError as exc:
        return [Check("list", "FAILED", exc.message)]
    if location.spec.read_only:
        checks.append(Check("write", "skipped", "ReadOnly location: never written"))
    elif write:
        checks.append(_write_probe(location))
    unknown = [b.name for b in backups if b.phase == "UnsupportedFormat"]
    checks.append(Check("format", "FAILED" if unknown else "ok",
                        f"backups of unknown format version: {', '.join(unknown)}" if unknown
                        else f"format version {layout.FORMAT_VERSION}"))
    return checks


def _write_probe(location: Location) -> Check:
    probe = f"{layout.ROOT}/.check-{secrets.token_hex(6)}"
    try:
        location.store.put(probe, b"salvage location check\n")
        location.store.get(probe)
        location.store.delete(probe)
    except SalvageError as exc:
        return Check("write", "FAILED", exc.message)
    return Check("write", "ok", "put, get and delete of a probe object")
