"""Extended attributes of tree nodes, read at backup and written back at restore.

POSIX ACLs are the extended attributes ``system.posix_acl_access`` and
``system.posix_acl_default``, so storing extended attributes stores ACLs too (and file
capabilities, ``security.capability``, and SELinux labels, ``security.selinux``). A node
keeps them in ``xattrs``, name → base64 of the value, and has no such key when the file
has none, so trees of files without any encode exactly as before.

Nothing here raises for one attribute: a restore that cannot set some attribute (no
privilege for ``trusted.*``, a target filesystem without xattr support) still restores
the data and gets the attribute's name and the reason back, to report.
"""

from __future__ import annotations

import base64
import errno
import os

# The filesystem has no extended attributes at all: nothing to store.
_UNSUPPORTED = (errno.ENOTSUP, errno.EOPNOTSUPP)


def read_xattrs(path: str) -> tuple[dict[str, str], list[str]]:
    """The attributes of ``path`` (never following a symlink), and the names left out.

    A name that is not valid UTF-8 cannot be written to a tree and is left out (returned,
    to be reported). An attribute removed while we read is left out silently: it was gone
    before the backup finished. Other errors (the path vanished, EACCES) are raised.
    """
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return {}, []
        raise
    values: dict[str, str] = {}
    left_out: list[str] = []
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            left_out.append(name.encode("utf-8", "backslashreplace").decode("ascii"))
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                continue
            raise
        values[name] = base64.b64encode(value).decode("ascii")
    return values, left_out


def apply_xattrs(target: str | int, xattrs: dict[str, str], *, symlink: bool = False) -> list[str]:
    """Set every attribute on ``target`` (a path, or an open descriptor); what failed, and why.

    ``symlink``: ``target`` is a symlink's path, whose own attributes are meant.
    """
    failed: list[str] = []
    for name, encoded in sorted(xattrs.items()):
        try:
            if isinstance(target, int):
                os.setxattr(target, name, base64.b64decode(encoded))
            else:
                os.setxattr(target, name, base64.b64decode(encoded), follow_symlinks=not symlink)
        except OSError as exc:
            failed.append(f"{name} ({exc.strerror or exc})")
    return failed
