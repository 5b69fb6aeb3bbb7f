import pytest

from salvage.devcluster import build
from salvage.devcluster.cluster import LocalCluster, validate_name
from salvage.model.errors import NotFoundError, ToolchainError, UsageError


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SALVAGE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SALVAGE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", ["a", "salvage", "dr-2", "x" * 40])
def test_valid_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a_b", "x" * 41, "../etc"])
def test_invalid_names_are_refused_with_the_rule(name):
    with pytest.raises(UsageError, match="lower-case"):
        validate_name(name)


def test_unknown_cluster_is_named_in_the_error():
    with pytest.raises(NotFoundError, match="'ghost'") as err:
        LocalCluster("ghost").status()
    assert "salvage dev cluster up" in (err.value.hint or "")
    with pytest.raises(NotFoundError):
        LocalCluster("ghost").down()


def test_missing_go_toolchain_is_reported_before_any_build(monkeypatch):
    real_which = build.shutil.which
    monkeypatch.setattr(build.shutil, "which", lambda name: None if name == "go" else real_which(name))
    if real_which("etcd") is None:
        pytest.skip("etcd is installed by scripts/install-deps; this unit test checks the Go message")
    with pytest.raises(ToolchainError, match="Go toolchain"):
        build.ensure_components()


def test_missing_etcd_is_reported(monkeypatch):
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(ToolchainError, match="etcd-server"):
        build.ensure_components()
