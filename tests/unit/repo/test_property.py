"""Property: any tree backs up and restores to an identical tree (data, metadata, xattrs)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salvage.repo.backup import backup
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot

from .conftest import describe, make_repo

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=12
).filter(lambda n: n not in (".", ".."))
contents = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=64), st.integers(1, 2000)),
)
xattr_names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                      min_size=1, max_size=20).map(lambda n: f"user.{n}")
xattr_sets = st.lists(st.dictionaries(xattr_names, st.binary(max_size=300), max_size=3), min_size=1, max_size=3)
trees = st.recursive(
    st.dictionaries(names, contents, max_size=4),
    lambda children: st.dictionaries(names, st.one_of(contents, children), max_size=4),
    max_leaves=25,
)


def materialise(root: Path, tree: dict[str, object], modes: list[int], xattrs: list[dict[str, bytes]]) -> None:
    root.mkdir(exist_ok=True)
    for index, (name, value) in enumerate(sorted(tree.items())):
        path = root / name
        if isinstance(value, dict):
            materialise(path, value, modes, xattrs)
        else:
            assert isinstance(value, bytes)
            path.write_bytes(value)
            os.chmod(path, modes[index % len(modes)])
        for key, data in xattrs[index % len(xattrs)].items():
            os.setxattr(path, key, data)
        if not isinstance(value, dict):
            os.utime(path, ns=(1_000_000_000 * index, 1_500_000_000_000_000_000 + index))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, modes=st.lists(st.sampled_from([0o600, 0o644, 0o755, 0o4755, 0o400]), min_size=1, max_size=3),
       xattrs=xattr_sets)
def test_any_tree_round_trips(tree: dict[str, object], modes: list[int], xattrs: list[dict[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as temp:
        source = Path(temp) / "src"
        materialise(source, tree, modes, xattrs)
        expected = describe(source)
        repo = make_repo()
        backup(repo, source)
        backup(repo, source)  # incremental path too
        out = Path(temp) / "out"
        restore(repo, find_snapshot(repo, "latest"), out)
        assert describe(out) == expected
