import pytest

from salvage.devcluster import build
from salvage.devcluster.local_cluster import LocalCluster, validate_name
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


def test_a_failed_build_names_the_component_and_its_log(monkeypatch):
    if build.shutil.which("go") is None:
        pytest.skip("needs the Go toolchain, which scripts/install-deps installs")
    from salvage.devcluster.components import GoComponent

    monkeypatch.setenv("GOPROXY", "off")  # fail at once, offline
    broken = GoComponent(name="broken", version="v0.0.1", packages=("salvage.invalid/nothing/cmd/x",))
    with pytest.raises(build.BuildError) as err:
        build.build_component(broken)
    assert "Building broken v0.0.1 failed" in err.value.message
    log = build.cache_root() / "devcluster" / "logs" / "broken-v0.0.1.log"
    assert str(log) in (err.value.hint or "")
    assert "GOPROXY=off" in log.read_text() or "salvage.invalid" in log.read_text()
    assert not build.is_built(broken), "a failed build must never look complete"
