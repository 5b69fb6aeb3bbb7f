"""The only module that knows where a backup's objects live on a location."""

from __future__ import annotations

import re

FORMAT_VERSION = 1
ROOT = "backups"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")


def check_name(name: str) -> str:
    from salvage.model.errors import UsageError

    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not a valid backup name.",
                         hint="Use 1-63 lower-case letters, digits, '-' and '.', starting and ending "
                              "with a letter or digit (like a Kubernetes object name).")
    return name


def prefix(name: str) -> str:
    return f"{ROOT}/{name}/"


def manifest(name: str) -> str:
    return f"{ROOT}/{name}/manifest.json"


def resources(name: str, group: str, version: str, resource: str, part: int) -> str:
    group_part = group or "core"
    return f"{ROOT}/{name}/resources/{resource}.{group_part}.{version}.{part:04d}.jsonl.zst"


def volumes(name: str) -> str:
    return f"{ROOT}/{name}/volumes.json"


def result(name: str) -> str:
    return f"{ROOT}/{name}/result.json"


def log(name: str) -> str:
    return f"{ROOT}/{name}/log.jsonl.zst"


def relative(name: str, key: str) -> str:
    """A key as the manifest lists it: relative to the backup's prefix."""
    return key[len(prefix(name)):]


def backup_name_of(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == ROOT else None


def drill(backup: str, name: str) -> str:
    """A restore drill's report, written once beside the backup it drilled."""
    return f"{ROOT}/{backup}/drills/{name}.json"


def is_drill(key: str) -> bool:
    parts = key.split("/")
    return len(parts) == 4 and parts[0] == ROOT and parts[2] == "drills" and parts[3].endswith(".json")
