import json

import pytest

from salvage.catalog import layout
from salvage.catalog.reader import (BackupReader, CorruptBackupError, IncompleteBackupError,
                                    UnsupportedFormatError, list_backups)
from salvage.catalog.writer import BackupWriter
from salvage.model.errors import NotFoundError, UsageError
from salvage.storage.memory import MemoryStore


def _manifest(name):
    return {"formatVersion": layout.FORMAT_VERSION, "kind": "Backup", "name": name, "phase": "Completed",
            "startedAt": "s", "completedAt": "c", "expiresAt": None, "cluster": {}, "spec": {},
            "resources": [], "files": {}}


def _backup(store, name="b1", count=3, part_bytes=None, monkeypatch=None):
    writer = BackupWriter(store, name)
    stream = writer.resource("", "v1", "configmaps", "ConfigMap", True)
    for i in range(count):
        stream.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm{i}"}, "data": {"i": "x" * 100}})
    stream.flush()
    writer.put_json(layout.volumes(name), [])
    writer.finish(_manifest(name))
    return writer


def test_round_trip_keeps_objects_exactly():
    store = MemoryStore()
    _backup(store)
    reader = BackupReader(store, "b1")
    reader.verify()
    [entry] = reader.resources()
    objects = list(reader.items(entry))
    assert [o["metadata"]["name"] for o in objects] == ["cm0", "cm1", "cm2"]
    assert objects[0]["data"] == {"i": "x" * 100}


def test_large_resources_are_split_into_parts(monkeypatch):
    monkeypatch.setattr("salvage.catalog.writer.PART_BYTES", 1000)
    store = MemoryStore()
    _backup(store, count=50)
    reader = BackupReader(store, "b1")
    [entry] = reader.resources()
    assert len(entry["files"]) > 3
    assert len(list(reader.items(entry))) == 50


def test_a_name_in_use_is_refused_and_nothing_is_overwritten():
    store = MemoryStore()
    _backup(store)
    before = {i.key: store.get(i.key) for i in store.list("")}
    with pytest.raises(UsageError, match="already exists"):
        BackupWriter(store, "b1")
    assert {i.key: store.get(i.key) for i in store.list("")} == before


def test_without_manifest_a_backup_is_incomplete_and_never_completed():
    store = MemoryStore()
    writer = BackupWriter(store, "half")
    writer.put_json(layout.volumes("half"), [])
    with pytest.raises(IncompleteBackupError, match="no manifest"):
        BackupReader(store, "half")
    assert [(b.name, b.phase) for b in list_backups(store)] == [("half", "Incomplete")]


def test_checksum_mismatch_and_missing_objects_are_named():
    store = MemoryStore()
    _backup(store)
    key = next(i.key for i in store.list("backups/b1/resources/"))
    store.put(key, store.get(key)[:-1] + b"!")
    with pytest.raises(CorruptBackupError, match="does not match its checksum"):
        BackupReader(store, "b1").verify()
    store.delete(key)
    with pytest.raises(CorruptBackupError, match=f"{key} is missing"):
        BackupReader(store, "b1").verify()


def test_unknown_format_versions_are_refused():
    store = MemoryStore()
    _backup(store)
    manifest = json.loads(store.get(layout.manifest("b1")))
    manifest["formatVersion"] = 99
    store.put(layout.manifest("b1"), json.dumps(manifest).encode())
    with pytest.raises(UnsupportedFormatError, match="format version 99"):
        BackupReader(store, "b1")


def test_unknown_backup_and_bad_names():
    with pytest.raises(NotFoundError):
        BackupReader(MemoryStore(), "nope")
    for bad in ("", "UPPER", "a/b", "-x", "x" * 64):
        with pytest.raises(UsageError):
            layout.check_name(bad)
