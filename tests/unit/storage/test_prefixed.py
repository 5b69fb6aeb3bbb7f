import pytest

from salvage.storage.errors import ObjectNotFoundError
from salvage.storage.memory import MemoryStore
from salvage.storage.prefixed import PrefixedStore


def test_keys_live_under_the_prefix_and_do_not_leak():
    inner = MemoryStore()
    inner.put("backups/b1/manifest.json", b"m")
    store = PrefixedStore(inner, "repository")
    store.put("config", b"c")
    assert inner.get("repository/config") == b"c"
    assert [i.key for i in store.list("")] == ["config"]
    assert store.put_if_absent("config", b"x") is False
    assert store.size("config") == 1 and store.get_range("config", 0, 1) == b"c"
    with pytest.raises(ObjectNotFoundError):
        store.get("backups/b1/manifest.json")
    store.delete("config")
    assert [i.key for i in inner.list("")] == ["backups/b1/manifest.json"]


def test_a_prefix_cannot_escape():
    with pytest.raises(ValueError):
        PrefixedStore(MemoryStore(), "../x")
