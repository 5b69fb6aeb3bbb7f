"""Tree blobs: one per directory, listing its entries (nodes) sorted by name.

File names are bytes on Linux; a name that is not valid UTF-8 is stored base64-encoded
in ``name_b64`` (likewise ``link_target_b64``) so every name round-trips exactly.

Nodes hold no access time: reading a file changes it, so storing it would make every
backup of an unchanged directory write a new tree blob. Restore sets atime to mtime.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from typing import Literal, TypedDict

TREE_VERSION = 1

NodeType = Literal["file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket"]


class NodeWire(TypedDict, total=False):
    name: str
    name_b64: str
    type: NodeType
    mode: int
    uid: int
    gid: int
    mtime_ns: int
    atime_ns: int  # read from older trees only; no longer written (it churned trees)
    ctime_ns: int
    size: int
    inode: int
    device_id: int
    links: int
    content: list[str]
    sha256: str  # of a file's bytes, as stored (repo/digest.py); absent in trees of older backups
    subtree: str
    link_target: str
    link_target_b64: str
    rdev: int
    xattrs: dict[str, str]  # name → base64 value; absent when there are none (repo/xattrs.py)


class TreeWire(TypedDict):
    version: int
    nodes: list[NodeWire]


def node_type(mode: int) -> NodeType | None:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode):
        return "chardev"
    if stat.S_ISBLK(mode):
        return "blockdev"
    if stat.S_ISSOCK(mode):
        return "socket"
    return None


def node_from_stat(name: str, st: os.stat_result) -> NodeWire:
    kind = node_type(st.st_mode)
    assert kind is not None
    node: NodeWire = {
        "type": kind,
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
        "device_id": st.st_dev,
        "links": st.st_nlink,
    }
    set_text(node, "name", name)
    if kind == "file":
        node["size"] = st.st_size
    if kind in ("chardev", "blockdev"):
        node["rdev"] = st.st_rdev
    return node


def set_text(node: NodeWire, field: Literal["name", "link_target"], value: str) -> None:
    try:
        value.encode("utf-8")
        node[field] = value
    except UnicodeEncodeError:  # surrogate-escaped bytes from the filesystem
        node[f"{field}_b64"] = base64.b64encode(os.fsencode(value)).decode("ascii")  # type: ignore[literal-required]


def get_text(node: NodeWire, field: Literal["name", "link_target"]) -> str:
    if field in node:
        return node[field]  # type: ignore[literal-required]
    return os.fsdecode(base64.b64decode(node[f"{field}_b64"]))  # type: ignore[literal-required]


def encode_tree(nodes: list[NodeWire]) -> bytes:
    wire: TreeWire = {"version": TREE_VERSION, "nodes": nodes}
    return json.dumps(wire, separators=(",", ":"), sort_keys=True).encode()


def decode_tree(data: bytes) -> list[NodeWire]:
    wire = json.loads(data)
    if wire.get("version") != TREE_VERSION:
        from salvage.repo.errors import UnsupportedVersionError

        raise UnsupportedVersionError(f"a tree has version {wire.get('version')}, which this Salvage cannot read")
    nodes: list[NodeWire] = wire["nodes"]
    return nodes
