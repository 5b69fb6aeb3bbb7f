"""Walk a snapshot's directory trees: every directory and file with the blobs it needs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from salvage.repo.errors import RepositoryError
from salvage.repo.repository import Repository
from salvage.repo.tree import decode_tree, get_text


@dataclass(frozen=True)
class Entry:
    """A directory (``blobs`` is its tree, read already) or a file (its chunks, in order);
    ``problem`` says why a directory's tree could not be read (its entries are then unknown)."""

    path: str  # "/" for the root, "/dir/file" below it
    is_dir: bool
    blobs: tuple[bytes, ...]
    problem: str = ""


def walk(repo: Repository, tree: bytes, seen: set[bytes] | None = None) -> Iterator[Entry]:
    """Depth first from the root ``tree``; a tree in ``seen`` (walked already, e.g. shared by
    another snapshot) is skipped with everything below it, and every tree read is added to it."""
    seen = set() if seen is None else seen
    stack: list[tuple[bytes, str]] = [(tree, "")]
    while stack:
        tree_id, path = stack.pop()
        if tree_id in seen:
            continue
        seen.add(tree_id)
        try:
            nodes = decode_tree(repo.read_blob(tree_id))
        except RepositoryError as exc:
            yield Entry(path or "/", True, (tree_id,), exc.message)
            continue
        yield Entry(path or "/", True, (tree_id,))
        for node in nodes:
            name = f"{path}/{get_text(node, 'name')}"
            if node["type"] == "dir":
                stack.append((bytes.fromhex(node["subtree"]), name))
            elif node.get("content"):
                yield Entry(name, False, tuple(bytes.fromhex(b) for b in node["content"]))
