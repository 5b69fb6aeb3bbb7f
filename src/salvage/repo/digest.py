"""Tree digests: one hash that says a directory tree holds exactly the files a backup read.

The definition (docs/FORMAT.md, "Tree digests"; version ``sha256-tree-v1``):

- The digest of a directory is the SHA-256 of one line per entry, entries in the order of
  their names' bytes: ``TYPE MODE UID:GID SIZE CONTENT NAME\\n``. TYPE is the tree node type
  (file, dir, symlink, fifo, chardev, blockdev; sockets are left out, as backups leave them
  out); MODE the permission bits in octal; SIZE the file's bytes (0 for other types);
  CONTENT the SHA-256 of a file's bytes, the digest of a directory (recursively), the
  SHA-256 of a symlink's target, the device number of a device, ``-`` otherwise; NAME the
  name's bytes percent-encoded (RFC 3986 unreserved characters kept), so a line never
  holds a space or newline of a name.
- A tree's digest is its root directory's, written ``sha256:<hex>``. The root's own mode,
  owner and times are not in it (a restored volume's root is made by its provisioner).
- Not in it: times (restore sets them, but they are not data), extended attributes (a
  target may refuse some, which a restore reports on its own), hard links (restored as
  separate files with equal content).

A backup records the SHA-256 of each file in its tree node (``sha256``), computed from the
bytes it stored; so the digest of a repository snapshot comes from its trees alone
(:func:`of_snapshot`), and a restored directory's from reading it (:func:`of_directory`).
When they differ, :func:`differences` names the paths.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_from_bytes

from salvage.repo.repository import Repository
from salvage.repo.tree import NodeWire, decode_tree, get_text, node_from_stat, node_type, set_text

VERSION = "sha256-tree-v1"
PREFIX = "sha256:"
_BLOCK = 1 << 20


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_line(node: NodeWire, content: str) -> bytes:
    """One entry's line in its directory's digest."""
    size = node.get("size", 0) if node["type"] == "file" else 0
    name = quote_from_bytes(os.fsencode(get_text(node, "name")), safe="")
    return (f"{node['type']} {node.get('mode', 0):o} {node.get('uid', 0)}:{node.get('gid', 0)} {size} "
            f"{content} {name}\n").encode()


def leaf_content(node: NodeWire) -> str:
    """CONTENT of an entry that is not a directory."""
    kind = node["type"]
    if kind == "file":
        return str(node.get("sha256") or "?")  # "?": an old tree without it: never equal to a real hash
    if kind == "symlink":
        return content_hash(os.fsencode(get_text(node, "link_target")))
    if kind in ("chardev", "blockdev"):
        return str(node.get("rdev", 0))
    return "-"


def directory_digest(nodes: Iterable[NodeWire], subtree: Callable[[NodeWire], str]) -> str:
    """The digest of a directory whose entries are ``nodes``; ``subtree`` gives a directory
    entry's digest."""
    digest = hashlib.sha256()
    for node in sorted((n for n in nodes if n["type"] != "socket"), key=lambda n: os.fsencode(get_text(n, "name"))):
        digest.update(entry_line(node, subtree(node) if node["type"] == "dir" else leaf_content(node)))
    return PREFIX + digest.hexdigest()


@dataclass
class Listing:
    """A tree's digest, and (when kept) each path's line: what :func:`differences` compares."""

    root: str = ""
    lines: dict[str, str] = field(default_factory=dict)


def of_snapshot(repo: Repository, tree: bytes, *, keep: bool = False) -> Listing:
    """The digest of a repository snapshot's tree, from its tree blobs (no file data is read)."""
    listing = Listing()
    cache: dict[bytes, str] = {}

    def walk(tree_id: bytes, path: str) -> str:
        if tree_id in cache and not keep:
            return cache[tree_id]
        nodes = decode_tree(repo.read_blob(tree_id))
        cache[tree_id] = directory_digest(nodes, lambda n: walk(bytes.fromhex(n["subtree"]), _child(path, n)))
        if keep:
            _keep(listing, path, nodes, lambda n: cache[bytes.fromhex(n["subtree"])])
        return cache[tree_id]

    listing.root = walk(tree, "")
    return listing


def of_directory(root: Path, *, keep: bool = False) -> Listing:
    """The digest of the tree under ``root`` on this machine, reading every file."""
    listing = Listing()
    digests: dict[str, str] = {}

    def walk(path: str) -> str:
        full = str(root) + path
        nodes = [_disk_node(full, name) for name in os.listdir(full)]
        present = [n for n in nodes if n is not None]

        def subtree(node: NodeWire) -> str:
            digests[_child(path, node)] = walk(_child(path, node))
            return digests[_child(path, node)]

        digest = directory_digest(present, subtree)
        if keep:
            _keep(listing, path, present, lambda n: digests[_child(path, n)])
        return digest

    listing.root = walk("")
    return listing


def differences(recorded: Listing, restored: Listing, limit: int = 5) -> list[str]:
    """The paths whose lines differ, first ``limit`` of them, directories left out (a
    directory differs whenever anything under it does)."""
    found = []
    for path in sorted(set(recorded.lines) | set(restored.lines)):
        before, after = recorded.lines.get(path), restored.lines.get(path)
        if before == after or (before or after or "").startswith("dir "):
            continue
        if after is None:
            found.append(f"{path}: missing")
        elif before is None:
            found.append(f"{path}: not in the backup")
        else:
            found.append(f"{path}: {_what_differs(before, after)}")
    if len(found) > limit:
        return found[:limit] + [f"... and {len(found) - limit} more"]
    return found


def _what_differs(before: str, after: str) -> str:
    names = ("type", "mode", "owner", "size", "content")
    old, new = before.split(" ")[:5], after.split(" ")[:5]
    changed = [f"{n} {a} -> {b}" if n != "content" else "content differs"
               for n, a, b in zip(names, old, new, strict=True) if a != b]
    return ", ".join(changed)


def _child(path: str, node: NodeWire) -> str:
    return f"{path}/{get_text(node, 'name')}"


def _keep(listing: Listing, path: str, nodes: list[NodeWire], subtree: Callable[[NodeWire], str]) -> None:
    for node in nodes:
        if node["type"] == "socket":
            continue
        content = subtree(node) if node["type"] == "dir" else leaf_content(node)
        listing.lines[_child(path, node) or "/"] = entry_line(node, content).decode().rsplit(" ", 1)[0]


def _disk_node(directory: str, name: str) -> NodeWire | None:
    full = os.path.join(directory, name)
    st = os.lstat(full)
    if node_type(st.st_mode) is None:
        return None
    node = node_from_stat(name, st)
    if node["type"] == "file":
        node["sha256"] = file_hash(full)
        node["size"] = st.st_size
    elif node["type"] == "symlink":
        set_text(node, "link_target", os.readlink(full))
    return node


def file_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class DigestCheck:
    """A restored tree against the digest its backup recorded."""

    recorded: str
    restored: str
    differences: tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        return self.recorded == self.restored

    def to_json(self) -> dict[str, object]:
        return {"recorded": self.recorded, "restored": self.restored, "matches": self.matches,
                "differences": list(self.differences)}


def check_restored(repo: Repository, tree: bytes, target: Path, recorded: str) -> DigestCheck:
    """Read the restored tree under ``target`` and compare its digest with ``recorded``; when
    they differ, name the paths that differ from the snapshot's trees (each file's hash there
    was recorded at backup time), or say that the snapshot itself is not what was recorded."""
    restored = of_directory(target)
    if restored.root == recorded:
        return DigestCheck(recorded, restored.root)
    stored = of_snapshot(repo, tree, keep=True)
    found = differences(stored, of_directory(target, keep=True))
    if stored.root != recorded:
        found.append(f"the repository snapshot's own trees give {stored.root[:19]}…, not the digest recorded "
                     "at backup time: its data is not what was backed up")
    return DigestCheck(recorded, restored.root, tuple(found))
