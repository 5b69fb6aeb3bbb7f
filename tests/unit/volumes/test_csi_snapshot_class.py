"""Backups and ``snapshot create`` choose a driver's VolumeSnapshotClass by one rule
(volumes/csi_snapshots.py, ``default_class``): a backup refuses an ambiguous choice too,
recording why instead of taking whichever class the API listed first."""

from __future__ import annotations

from typing import Any

from salvage.k8s.api_groups import SNAPSHOTS as API
from salvage.volumes.csi_snapshots import DEFAULT_CLASS_ANNOTATION, capture
from tests.support.fake_kube import FakeApi


def _class(name: str, default: bool = False) -> dict[str, Any]:
    annotations = {DEFAULT_CLASS_ANNOTATION: "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "driver": "disk.example.com",
            "deletionPolicy": "Delete"}


def _capture(*classes: dict[str, Any]) -> dict[str, Any]:
    api = FakeApi({f"{API}/volumesnapshotclasses/{c['metadata']['name']}": c for c in classes})
    claim = {"metadata": {"name": "data", "namespace": "wp"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    pv = {"metadata": {"name": "pv-1"}, "spec": {"csi": {"driver": "disk.example.com", "volumeHandle": "v"}}}
    record = dict(capture(api.client(), claim, pv, "nightly", timeout=0.1))
    assert api.writes == [], "nothing is created for a volume whose class is not known"
    return record


def test_a_backup_refuses_two_classes_without_a_default() -> None:
    record = _capture(_class("fast"), _class("slow"))
    assert record["method"] == "none"
    assert "2 candidate VolumeSnapshotClasses and no single default" in record["error"]
    assert "fast, slow" in record["error"]


def test_a_backup_refuses_two_defaults() -> None:
    record = _capture(_class("fast", default=True), _class("slow", default=True))
    assert record["method"] == "none" and "no single default" in record["error"]


def test_a_backup_without_a_class_says_so() -> None:
    record = _capture()
    assert record["method"] == "none" and "No VolumeSnapshotClass exists for driver disk.example.com" in record["error"]
