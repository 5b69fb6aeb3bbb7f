"""The workflow of `restore create` and `statefulset recover` lives in the engines, so every
front door runs the same code: naming a restore, refusing a name already used, keeping its
records; choosing recover's source and refusing an ambiguous one before anything is read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from salvage.engines import restore_records
from salvage.engines.backup_restore import ItemResult, RestoreReport, RestoreRequest
from salvage.engines.statefulset.recover import RecoverFrom, RecoverRequest, recovery_source
from salvage.engines.statefulset.snapshot_source import SnapshotSource
from salvage.model.errors import UsageError
from tests.support.fake_kube import FakeApi


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[RestoreRequest]:
    """The restore engine, replaced by one that reports one created item per run."""
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path))
    seen: list[RestoreRequest] = []

    def restore(client, location, request, progress, on_item):  # type: ignore[no-untyped-def]
        seen.append(request)
        on_item(ItemResult("configmaps", "shop", "settings", "planned" if request.dry_run else "created"))
        return RestoreReport(request.name, request.backup, "here", "Planned" if request.dry_run else "Completed",
                             request.dry_run, "2026-12-02T13:00:00Z")
    monkeypatch.setattr(restore_records, "restore_backup", restore)
    return seen


def test_a_restore_without_a_name_is_named_after_its_backup_and_the_time() -> None:
    assert restore_records.restore_name("nightly", None, dt.datetime(2026, 12, 2, 13, 5, 9)) == "nightly-20261202130509"
    assert restore_records.restore_name("nightly", "mine") == "mine"


def test_a_restore_here_keeps_its_report_and_item_log(runs: list[RestoreRequest], tmp_path: Path) -> None:
    done = restore_records.restore_here(None, None, RestoreRequest(name="r1", backup="nightly"))  # type: ignore[arg-type]
    assert done.report.phase == "Completed" and done.plan == []
    assert json.loads((tmp_path / "restores" / "r1.json").read_text())["backup"] == "nightly"
    assert restore_records.load_restore("r1")["items"] == [
        {"resource": "configmaps", "namespace": "shop", "name": "settings", "action": "created", "reason": ""}]


def test_a_used_name_is_refused_before_the_restore_runs(runs: list[RestoreRequest]) -> None:
    restore_records.restore_here(None, None, RestoreRequest(name="r1", backup="nightly"))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="A restore named 'r1' already exists."):
        restore_records.restore_here(None, None, RestoreRequest(name="r1", backup="nightly"))  # type: ignore[arg-type]
    assert len(runs) == 1


def test_a_dry_run_returns_its_plan_and_records_nothing(runs: list[RestoreRequest], tmp_path: Path) -> None:
    restore_records.restore_here(None, None, RestoreRequest(name="r1", backup="nightly"))  # type: ignore[arg-type]
    done = restore_records.restore_here(None, None,  # type: ignore[arg-type]
                                RestoreRequest(name="r1", backup="nightly", dry_run=True))
    assert [i.action for i in done.plan] == ["planned"]
    assert sorted(p.name for p in (tmp_path / "restores").iterdir()) == ["r1.items.jsonl", "r1.json"]


@pytest.mark.parametrize(("source", "message"), [
    (RecoverFrom(), "Pass exactly one of --from-backup, --from-snapshots and --snapshot-selector."),
    (RecoverFrom(backup="b", snapshot_selector="app=web"), "(not --from-backup and --snapshot-selector)"),
    (RecoverFrom(snapshots="s0", backup_namespace="old"), "--backup-namespace goes with --from-backup."),
    (RecoverFrom(snapshot_selector="app=web", verify_data=True), "--verify-data goes with --from-backup"),
])
def test_an_ambiguous_or_mismatched_source_is_refused_before_anything_is_read(source: RecoverFrom,
                                                                              message: str) -> None:
    api = FakeApi()

    def no_location():  # type: ignore[no-untyped-def]
        raise AssertionError("no location may be opened for a refused source")
    with pytest.raises(UsageError) as error:
        recovery_source(api.client(), source, RecoverRequest("web", "shop"), no_location)
    assert message in error.value.message
    assert api.requests == []


def test_snapshots_are_a_source_that_needs_no_location() -> None:
    def no_location():  # type: ignore[no-untyped-def]
        raise AssertionError("VolumeSnapshots need no location")
    source = recovery_source(FakeApi().client(), RecoverFrom(snapshot_selector="app=web"),
                             RecoverRequest("web", "shop"), no_location)
    assert isinstance(source, SnapshotSource)


def test_clone_reads_a_named_statefulset_itself_and_refuses_a_missing_one() -> None:
    from salvage.engines.statefulset.clone import CloneRequest, clone_statefulset
    from salvage.model.errors import NotFoundError
    api = FakeApi()
    with pytest.raises(NotFoundError, match="There is no StatefulSet 'ghost' in namespace shop."):
        clone_statefulset(api.client(), CloneRequest(snapshot="s", name="copy", namespace="shop", source="ghost"))
    assert api.writes == []
