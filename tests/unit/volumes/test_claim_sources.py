"""How a claim is pointed at its re-created volume (volumes/sources.py), for restore and recover."""

from __future__ import annotations

from salvage.volumes.method import ClaimSource
from salvage.volumes.sources import has_volume_data

SNAPSHOT = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "s"}


def _spec() -> dict:
    return {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
            "volumeName": "old-pv", "dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "old"}}


def test_a_snapshot_source_replaces_what_the_claim_pointed_at_and_grows_it() -> None:
    spec = _spec()
    ClaimSource(data_source=SNAPSHOT, restore_size=2 << 30).shape(spec)
    assert spec["dataSource"] == SNAPSHOT and spec["dataSourceRef"] == SNAPSHOT
    assert "volumeName" not in spec
    assert spec["resources"]["requests"]["storage"] == "2Gi", "never smaller than the snapshot"


def test_a_pre_bound_volume_keeps_the_claim_off_the_default_class() -> None:
    spec = _spec()
    ClaimSource(volume_name="new-pv").shape(spec)
    assert spec["volumeName"] == "new-pv" and spec["storageClassName"] == ""
    assert "dataSource" not in spec and "dataSourceRef" not in spec
    kept = {**_spec(), "storageClassName": "gp3"}
    ClaimSource(volume_name="new-pv").shape(kept)
    assert kept["storageClassName"] == "gp3"


def test_an_empty_volume_for_files_has_no_source_and_is_not_shrunk() -> None:
    spec = _spec()
    ClaimSource(restore_size=1000, fill=lambda _pv: None).shape(spec)
    assert not {"volumeName", "dataSource", "dataSourceRef"} & set(spec)
    assert spec["resources"]["requests"]["storage"] == "1Gi"


def test_which_records_have_data() -> None:
    assert all(has_volume_data({"method": m}) for m in ("csi-snapshot", "fs", "aws-ebs"))  # type: ignore[typeddict-item]
    assert not has_volume_data({"method": "none"})  # type: ignore[typeddict-item]
    assert not has_volume_data({"method": "csi-snapshot", "error": "failed"})  # type: ignore[typeddict-item]
