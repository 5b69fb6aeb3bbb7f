"""The JSON examples in docs/FORMAT.md must be exactly what the code reads and writes."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from salvage.repo.config import ConfigWire, RepoConfig
from salvage.repo.index import IndexBlobWire, IndexPackWire, IndexWire
from salvage.repo.keys import KdfWire, KeyFileWire, MasterWire
from salvage.repo.locks import LockWire
from salvage.repo.snapshots import SnapshotWire, SummaryWire
from salvage.repo.tree import NodeWire, TreeWire

DOC = Path(__file__).resolve().parents[3] / "docs" / "FORMAT.md"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\s*```json\n(.*?)```", re.S)


def examples() -> dict[str, Any]:
    """The repository section's examples (the backup section's, named backup-*, are tested in
    tests/unit/catalog/test_format_doc.py)."""
    return {name: json.loads(body) for name, body in EXAMPLE.findall(DOC.read_text())
            if not name.startswith("backup-")}


def keys_of(typed: type) -> set[str]:
    return set(typed.__annotations__)


def test_every_example_is_present() -> None:
    assert set(examples()) == {"config", "key", "master", "pack-header", "index", "tree", "snapshot", "lock"}


def test_config_example_decodes() -> None:
    config = examples()["config"]
    assert set(config) == keys_of(ConfigWire)
    decoded = RepoConfig.decode(json.dumps(config).encode(), "doc")
    assert decoded.to_wire() == config


def test_key_and_master_examples() -> None:
    key = examples()["key"]
    assert set(key) == keys_of(KeyFileWire)
    assert set(key["kdf"]) == keys_of(KdfWire)
    master = examples()["master"]
    assert set(master) == keys_of(MasterWire)
    assert len(base64.b64decode(master["encryption"])) == len(base64.b64decode(master["blob_id"])) == 32


def test_index_example() -> None:
    index = examples()["index"]
    assert set(index) == keys_of(IndexWire)
    for pack in index["packs"]:
        assert set(pack) == keys_of(IndexPackWire)
        for blob in pack["blobs"]:
            assert set(blob) == keys_of(IndexBlobWire)


def test_pack_header_example() -> None:
    for blob_type, blob_id, offset, length, raw_length in examples()["pack-header"]:
        assert blob_type in ("data", "tree") and len(blob_id) == 64
        assert all(isinstance(n, int) for n in (offset, length, raw_length))


@pytest.mark.parametrize("name", ["tree"])
def test_tree_example(name: str) -> None:
    from salvage.repo.tree import decode_tree

    tree = examples()[name]
    assert set(tree) == keys_of(TreeWire)
    nodes = decode_tree(json.dumps(tree).encode())
    assert [n["name"] for n in nodes] == sorted(n["name"] for n in nodes)
    for node in nodes:
        assert set(node) <= keys_of(NodeWire)


def test_snapshot_and_lock_examples() -> None:
    snapshot = examples()["snapshot"]
    assert set(snapshot) == keys_of(SnapshotWire)
    assert set(snapshot["summary"]) == keys_of(SummaryWire)
    assert set(snapshot["root"]) <= keys_of(NodeWire)
    assert set(examples()["lock"]) == keys_of(LockWire)
