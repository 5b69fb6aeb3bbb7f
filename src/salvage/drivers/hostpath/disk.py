"""The driver's directories on disk: volumes and snapshots under one root.

Layout::

    <root>/volumes/<volume-id>/             one directory per PV (the volume's files)
    <snapshots>/<snapshot-id>/              one point-in-time copy per snapshot
    <snapshots>/<snapshot-id>.json          when it was taken, its restore size, its source
    <dir>/.staging/<id>/                    work in progress, renamed into <dir> when complete

``<snapshots>`` is ``<root>/snapshots`` unless a separate snapshot root is given: several
clusters on one machine may share one, as clusters in one cloud account see the same disk
snapshots, so a backup's snapshots outlive the cluster and can be restored in another.

A directory under volumes/ or the snapshot root is complete by construction (rename is
atomic within a directory), so a crash mid-copy leaves only staging debris, which the
next attempt removes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salvage.model.errors import SalvageError


class DiskError(SalvageError):
    """The driver could not read or write its root directory."""


@dataclass(frozen=True)
class Disk:
    root: Path
    snapshot_root: Path | None = None

    @property
    def snapshots(self) -> Path:
        return self.snapshot_root or self.root / "snapshots"

    def check_writable(self) -> None:
        """Fail with a clear message unless the root can hold volumes."""
        try:
            for folder in (self.root / "volumes", self.snapshots):
                (folder / ".staging").mkdir(parents=True, exist_ok=True)
                probe = folder / ".staging" / ".write-probe"
                probe.write_text("ok")
                probe.unlink()
        except OSError as exc:
            raise DiskError(
                f"The hostpath driver's root {self.root} (snapshots: {self.snapshots}) is not writable: {exc.strerror}.",
                hint="Pass a --root directory that this user can write, e.g. one under your home.",
            ) from exc

    def volume(self, volume_id: str) -> Path:
        return self.root / "volumes" / _safe(volume_id)

    def snapshot(self, snapshot_id: str) -> Path:
        return self.snapshots / _safe(snapshot_id)

    def create_volume(self, volume_id: str, source: Path | None = None) -> Path:
        """The volume directory, created empty or as a copy of ``source``; idempotent."""
        return self._materialise(self.volume(volume_id), source)

    def create_snapshot(self, snapshot_id: str, source: Path) -> Path:
        return self._materialise(self.snapshot(snapshot_id), source)

    def write_meta(self, snapshot_id: str, meta: dict[str, Any]) -> None:
        """Facts about a snapshot kept beside it (time taken, restore size, source)."""
        path = self._meta_path(snapshot_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta))
        tmp.replace(path)

    def read_meta(self, snapshot_id: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self._meta_path(snapshot_id).read_text()))
        except (OSError, ValueError):
            return {}

    def remove_meta(self, snapshot_id: str) -> None:
        self._meta_path(snapshot_id).unlink(missing_ok=True)

    def _meta_path(self, snapshot_id: str) -> Path:
        return self.snapshots / f"{_safe(snapshot_id)}.json"

    def remove(self, path: Path) -> None:
        if path.exists():
            # Move out of sight first so a half-removed tree never looks like a volume.
            doomed = path.parent / ".staging" / f"deleting-{path.name}"
            shutil.rmtree(doomed, ignore_errors=True)
            path.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)

    def _materialise(self, target: Path, source: Path | None) -> Path:
        if target.exists():
            return target
        staging = target.parent / ".staging" / target.name
        shutil.rmtree(staging, ignore_errors=True)
        if source is None:
            staging.mkdir(parents=True)
            staging.chmod(0o777)
        else:
            copy_tree(source, staging)
        _test_pause()
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
        return target


def copy_tree(source: Path, dest: Path) -> None:
    """Copy a directory tree keeping modes, owners, times, symlinks, hard links and holes.

    GNU cp does all of that (and reflinks where the filesystem can), which no Python
    standard-library copy does: shutil.copytree loses hard links and sparseness.
    """
    if not source.is_dir():
        raise DiskError(f"Source directory {source} does not exist.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["cp", "-a", "--reflink=auto", "--sparse=always", "--", str(source), str(dest)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise DiskError(f"Copying {source} to {dest} failed: {result.stderr.strip()}")


def used_bytes(path: Path) -> int:
    """Apparent size of every regular file under ``path`` (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def _safe(name: str) -> str:
    if not name or "/" in name or name in {".", ".."}:
        raise DiskError(f"{name!r} is not a valid volume or snapshot id.")
    return name


def _test_pause() -> None:
    """Crash tests stretch the window between copying and publishing a copy, so that
    the driver can be killed inside it (``SALVAGE_HOSTPATH_TEST_PAUSE`` seconds)."""
    seconds = float(os.environ.get("SALVAGE_HOSTPATH_TEST_PAUSE", "0") or 0)
    if seconds > 0:
        import time

        time.sleep(seconds)
