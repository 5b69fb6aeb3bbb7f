"""Read a StatefulSet out of the user's manifest file (kubectl-style YAML, several documents
allowed). The file is only read: recover's promise is that it stays byte-for-byte as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from salvage.model.errors import UsageError


def load_statefulset(path: Path, name: str | None = None) -> dict[str, Any]:
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except OSError as exc:
        raise UsageError(f"Cannot read manifest {path}: {exc.strerror}.", hint="Check the path.") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"Manifest {path} is not valid YAML: {exc}.") from exc
    found = [d for d in documents if d.get("kind") == "StatefulSet"]
    named = [d for d in found if name is None or (d.get("metadata") or {}).get("name") == name]
    if len(named) == 1:
        return named[0]
    names = ", ".join(str((d.get("metadata") or {}).get("name")) for d in found) or "none"
    what = f"StatefulSet {name!r}" if name else "exactly one StatefulSet"
    raise UsageError(f"Manifest {path} does not hold {what} (StatefulSets in it: {names}); nothing was changed.",
                     hint="Pass the file that defines the StatefulSet.")
