"""Opening repositories: passwords, versions, and what is written where."""

from __future__ import annotations

import json

import pytest

from salvage.repo.errors import (
    RepositoryExistsError,
    RepositoryNotFoundError,
    UnsupportedVersionError,
    WrongPasswordError,
)
from salvage.repo.repository import Repository
from salvage.storage.counting import CountingStore
from salvage.storage.memory import MemoryStore

from .conftest import PASSWORD, make_repo


def test_open_with_the_right_password() -> None:
    store = MemoryStore()
    created = make_repo(store)
    opened = Repository.open(store, PASSWORD)
    assert opened.config == created.config
    assert opened.master == created.master


def test_wrong_password_is_refused_clearly() -> None:
    store = MemoryStore()
    make_repo(store)
    with pytest.raises(WrongPasswordError, match="wrong password") as info:
        Repository.open(store, "guess")
    assert "SALVAGE_REPO_PASSWORD" in (info.value.hint or "")


def test_init_twice_is_refused() -> None:
    store = MemoryStore()
    make_repo(store)
    with pytest.raises(RepositoryExistsError):
        make_repo(store)


def test_no_repository() -> None:
    with pytest.raises(RepositoryNotFoundError, match="no repository"):
        Repository.open(MemoryStore(), PASSWORD)


def test_unknown_version_is_refused_before_asking_for_the_key() -> None:
    store = CountingStore(MemoryStore())
    make_repo(store)
    config = json.loads(store.get("config"))
    config["version"] = 2
    store.put("config", json.dumps(config).encode())
    reads_before = store.counts.gets
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        Repository.open(store, PASSWORD)
    assert store.counts.gets == reads_before + 1  # only the config was read


def test_not_a_salvage_repository() -> None:
    store = MemoryStore()
    store.put("config", b'{"version": 2, "chunker_polynomial": "x"}')
    with pytest.raises(Exception, match="no Salvage repository"):
        Repository.open(store, PASSWORD)


def test_encrypted_files_reveal_nothing_in_plaintext(repo: Repository) -> None:
    file_id = repo.save_file("snapshots", {"version": 1, "hostname": "secret-host-name"})
    assert b"secret-host-name" not in repo.store.get(f"snapshots/{file_id}")
    assert repo.load_file("snapshots", file_id)["hostname"] == "secret-host-name"


def test_blobs_are_compressed_only_when_it_helps(repo: Repository) -> None:
    from .conftest import random_bytes

    writer = repo.writer()
    text = b"compressible " * 4000
    noise = random_bytes(50_000, 9)
    writer.add_blob("data", repo.master.id_of(text), text)
    writer.add_blob("data", repo.master.id_of(noise), noise)
    writer.flush()
    text_at = repo.index.get(repo.master.id_of(text))
    noise_at = repo.index.get(repo.master.id_of(noise))
    assert text_at and noise_at
    assert text_at.length < len(text) / 10
    assert noise_at.length == len(noise) + 1 + 28  # marker + nonce + tag: stored raw
    assert repo.read_blob(repo.master.id_of(noise)) == noise
    reopened = Repository.open(repo.store, PASSWORD)
    assert reopened.read_blob(repo.master.id_of(text)) == text


def test_writer_deduplicates(repo: Repository) -> None:
    writer = repo.writer()
    blob = b"same" * 100
    assert writer.add_blob("data", repo.master.id_of(blob), blob) is True
    assert writer.add_blob("data", repo.master.id_of(blob), blob) is False
    writer.flush()
    assert writer.add_blob("data", repo.master.id_of(blob), blob) is False
    assert writer.blobs_added == 1


def test_a_read_only_repository_is_never_written(tmp_path: object) -> None:
    from pathlib import Path

    from salvage.repo.backup import backup
    from salvage.repo.check import check
    from salvage.repo.errors import RepositoryError
    from salvage.repo.prune import prune
    from salvage.repo.restore_files import restore
    from salvage.repo.retention import RetentionPolicy
    from salvage.repo.snapshots import find_snapshot, list_snapshots

    assert isinstance(tmp_path, Path)
    inner = MemoryStore()
    source = tmp_path / "src"
    source.mkdir()
    (source / "f").write_bytes(b"data" * 1000)
    backup(make_repo(inner), source)
    store = CountingStore(inner, read_only=True)
    repo = Repository.open(store, PASSWORD, read_only=True)
    assert len(list_snapshots(repo)) == 1
    assert check(repo, read_data=True).ok
    restore(repo, find_snapshot(repo, "latest"), tmp_path / "out")
    assert (tmp_path / "out" / "f").read_bytes() == b"data" * 1000
    with pytest.raises(RepositoryError, match="read-only"):
        backup(repo, source)
    with pytest.raises(RepositoryError, match="read-only"):
        prune(repo, RetentionPolicy(last=1))
    assert store.counts.writes == 0


def test_an_encrypted_file_under_another_name_is_refused(repo: Repository) -> None:
    """Files are named by the hash of their bytes: one moved or copied over another (both
    decrypt) is caught by its name."""
    from salvage.repo.errors import CorruptDataError

    first = repo.save_file("snapshots", {"version": 1, "hostname": "first"})
    second = repo.save_file("snapshots", {"version": 1, "hostname": "second"})
    repo.store.put(f"snapshots/{first}", repo.store.get(f"snapshots/{second}"))
    with pytest.raises(CorruptDataError, match=f"snapshots/{first} is damaged"):
        repo.load_file("snapshots", first)


def test_the_index_knows_each_packs_exact_size(repo: Repository) -> None:
    from .conftest import random_bytes

    writer = repo.writer()
    for seed in range(40):
        data = random_bytes(3000 + seed, seed)
        writer.add_blob("data", repo.master.id_of(data), data)
    writer.flush()
    reopened = Repository.open(repo.store, PASSWORD)
    sizes = reopened.pack_sizes()
    assert len(sizes) > 1
    assert {p: reopened.index.pack_size(p) for p in sizes} == sizes


def test_a_damaged_key_file_is_named_not_blamed_on_the_password() -> None:
    from salvage.repo.errors import CorruptDataError

    store = MemoryStore()
    make_repo(store)
    [key] = [info.key for info in store.list("keys/")]
    data = bytearray(store.get(key))
    at = data.index(b'"salt": "') + 12
    # Another base64 letter: still a key file, but not the one written. (Flipping a bit could
    # make a character base64 does not have, which is a different error: 1 salt in ~16.)
    data[at] = ord("A") if data[at] != ord("A") else ord("B")
    store.put(key, bytes(data))
    with pytest.raises(CorruptDataError, match=f"{key} is damaged"):
        Repository.open(store, PASSWORD)


def test_two_first_uses_at_once_share_one_repository_and_leave_one_key() -> None:
    """The operator's workers may run two first backups into a new location at once: the
    one whose config lands second opens the winner's repository, and takes its key away."""
    from salvage.repo import layout
    from salvage.storage.prefixed import PrefixedStore
    from salvage.volumes import location_repository

    class Racing(MemoryStore):
        raced = False

        def put_if_absent(self, key: str, data: bytes) -> bool:
            if key.endswith(layout.CONFIG) and not self.raced:
                self.raced = True  # the other worker's init lands between our key and our config
                Repository.init(PrefixedStore(self, location_repository.REPOSITORY_PREFIX), PASSWORD)
            return super().put_if_absent(key, data)

    store = Racing()
    repo = location_repository.repository(store, PASSWORD, create=True)
    assert store.raced
    winner = Repository.open(PrefixedStore(store, location_repository.REPOSITORY_PREFIX), PASSWORD)
    assert repo.config.id == winner.config.id
    assert len(list(store.list(f"{location_repository.REPOSITORY_PREFIX}/keys"))) == 1, "the loser's key is gone"
