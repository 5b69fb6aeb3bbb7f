"""The backup examples in docs/FORMAT.md match what the catalog writes and reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

from salvage.catalog import layout
from salvage.catalog.reader import BackupReader
from salvage.catalog.backup_records import FileEntry, Manifest, ResourceEntry, VolumeRecord
from salvage.storage.memory import MemoryStore

DOC = Path(__file__).resolve().parents[3] / "docs" / "FORMAT.md"
EXAMPLE = re.compile(r"<!-- example: (backup-[\w-]+) -->\s*```json\n(.*?)```", re.S)


def examples() -> dict[str, object]:
    return {name: json.loads(body) for name, body in EXAMPLE.findall(DOC.read_text())}


def test_examples_are_present() -> None:
    assert set(examples()) == {"backup-manifest", "backup-volumes", "backup-result"}


def test_manifest_example_has_exactly_the_manifest_fields_and_is_readable() -> None:
    manifest = examples()["backup-manifest"]
    assert isinstance(manifest, dict)
    assert set(manifest) == set(Manifest.__annotations__)
    assert set(manifest["resources"][0]) == set(ResourceEntry.__annotations__)
    assert all(set(entry) == set(FileEntry.__annotations__) for entry in manifest["files"].values())
    assert manifest["formatVersion"] == layout.FORMAT_VERSION
    for key in manifest["resources"][0]["files"]:
        assert key in manifest["files"]
    store = MemoryStore()
    store.put(layout.manifest("wp-nightly"), json.dumps(manifest).encode())
    assert BackupReader(store, "wp-nightly").manifest["name"] == "wp-nightly"


def test_resource_file_names_follow_the_layout() -> None:
    key = layout.resources("wp-nightly", "", "v1", "configmaps", 0)
    assert layout.relative("wp-nightly", key) == "resources/configmaps.core.v1.0000.jsonl.zst"


def test_volume_examples_use_only_record_fields() -> None:
    records = examples()["backup-volumes"]
    assert isinstance(records, list)
    assert [r["method"] for r in records] == ["csi-snapshot", "fs", "aws-ebs", "postgresql"]
    for record in records:
        assert set(record) <= set(VolumeRecord.__annotations__)
