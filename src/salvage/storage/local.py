"""A store in a local directory: one file per key, written atomically.

Atomic put is a write to a temporary file in the same directory, ``fsync``, then
``rename`` over the key (rename is atomic within a filesystem). Put-if-absent uses
``link``, which fails if the target exists, so two racing writers cannot both win.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from salvage.storage.base import ObjectInfo, check_key
from salvage.storage.errors import ObjectNotFoundError, StorageError

_TEMP_SUFFIX = ".salvage-tmp"


class LocalStore:
    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).absolute()
        # fsync makes a put durable across power loss; tests may turn it off for speed.
        self._fsync = fsync

    @property
    def url(self) -> str:
        return f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write_temp(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{_TEMP_SUFFIX}")
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                if self._fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
        except BaseException:
            # A full disk fails the write (or its flush) halfway: the half-written file goes,
            # or each failed put would leave one behind on the disk that is already full.
            _discard(temp)
            raise
        return temp

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        temp: Path | None = None
        try:
            temp = self._write_temp(path, data)
            os.replace(temp, path)
        except OSError as exc:
            _discard(temp)
            raise _translate(exc, key, self.root, writing=True) from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        temp: Path | None = None
        try:
            temp = self._write_temp(path, data)
            try:
                os.link(temp, path)
            except FileExistsError:
                return False
            return True
        except OSError as exc:
            raise _translate(exc, key, self.root, writing=True) from exc
        finally:
            _discard(temp)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise _translate(exc, key, self.root) from exc

    def get_range(self, key: str, start: int, length: int) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                handle.seek(start)
                return handle.read(length)
        except OSError as exc:
            raise _translate(exc, key, self.root) from exc

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except OSError as exc:
            raise _translate(exc, key, self.root) from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Walk only the directory the prefix names, so listing data/ab/ does not scan data/.
        directory, _, _ = prefix.rpartition("/")
        start = self.root / directory if directory else self.root
        if not start.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(start):
            for name in filenames:
                if name.endswith(_TEMP_SUFFIX):
                    continue
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, self.root).replace(os.sep, "/")
                if not key.startswith(prefix):
                    continue
                try:
                    size = os.stat(full).st_size
                except FileNotFoundError:
                    continue  # deleted while we listed
                yield ObjectInfo(key, size)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise _translate(exc, key, self.root) from exc


def _discard(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # best effort; list() hides temp files anyway


def _translate(exc: OSError, key: str, root: Path, *, writing: bool = False) -> Exception:
    """Our error for ``exc``, saying the cause underneath when there is a clearer one: a
    write that cannot create its directory is not a missing object."""
    if isinstance(exc, FileNotFoundError) and not writing:
        return ObjectNotFoundError(key)
    if exc.errno == errno.ENOSPC:
        return StorageError(
            f"no space left on the device holding {root} while writing `{key}`",
            hint="Free space there (or use another location) and run the command again.",
        )
    if exc.errno in _PATH_ERRNOS:
        return StorageError(f"cannot {'write to' if writing else 'read'} {root}: {_path_cause(exc, root / key, writing)}",
                            hint=_PATH_HINT)
    return StorageError(f"filesystem error on `{key}` under {root}: {exc.strerror or exc}")


_PATH_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EEXIST, errno.EACCES, errno.EPERM, errno.EROFS}
_PATH_HINT = "Use a directory this user can create and write (or fix the path's owner and mode), then run again."


def _path_cause(exc: OSError, path: Path, writing: bool) -> str:
    """Why ``path`` cannot be used, from the deepest part of it that exists."""
    failed = Path(exc.filename) if isinstance(exc.filename, str) else path
    existing = failed
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied on {failed} (not {'writable' if writing else 'readable'} by this user)"
    if exc.errno == errno.EROFS:
        return f"{existing} is on a read-only filesystem"
    if failed != existing:
        return f"{failed} cannot be created in {existing} ({exc.strerror})"
    return f"{failed}: {exc.strerror}"
