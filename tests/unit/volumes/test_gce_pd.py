"""GCE PD through google-cloud-compute against the compute v1 test server (in this process,
on loopback, anonymous credentials): the round trip, and bad input as a clear CloudError
with nothing created. The server follows the published API; it is not GCE
(docs/test-servers.md says what that leaves unproved)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salvage.catalog.backup_records import VolumeRecord
from salvage.devcluster.servers.gce_compute import ComputeState, serve_in_thread
from salvage.model.cloud_settings import GceSettings
from salvage.model.errors import CloudCredentialsError, CloudError
from salvage.volumes.gce_pd import GcePdProvider
from salvage.volumes.presence import Presence, volume_presence
from salvage.model.progress import quiet

PROJECT, ZONE = "salvage-test", "us-central1-b"
CLAIM = {"metadata": {"namespace": "shop", "name": "www-web-0"},
         "spec": {"storageClassName": "standard-rwo", "resources": {"requests": {"storage": "20Gi"}}}}
KMS = "projects/salvage-test/locations/us-central1/keyRings/r/cryptoKeys/k"


@pytest.fixture
def gce() -> Iterator[tuple[str, ComputeState]]:
    """The test server; every operation takes three reads to finish, so waiting loops go round."""
    with serve_in_thread(ComputeState(polls=3)) as served:
        yield served


def provider(endpoint: str, **settings: Any) -> GcePdProvider:
    return GcePdProvider(GceSettings(endpoint=endpoint, credentials="anonymous", **settings), poll_interval=0)


def make_disk(state: ComputeState, name: str = "pd-www-0", *, zone: str = ZONE, kind: str = "pd-ssd",
              size: int = 20, labels: dict[str, str] | None = None, kms: str | None = KMS) -> None:
    body: dict[str, Any] = {"name": name, "sizeGb": str(size), "type": f"zones/{zone}/diskTypes/{kind}",
                            "labels": labels or {}}
    if kms:
        body["diskEncryptionKey"] = {"kmsKeyName": kms}
    with state.lock:
        state.insert_disk(PROJECT, zone, body)
        state.disks[(PROJECT, zone, name)]["status"] = "READY"


def pv(form: str, disk: str = "pd-www-0", project: str = PROJECT, zone: str = ZONE) -> dict[str, Any]:
    if form == "csi":
        return {"metadata": {"name": "pv-www-0"}, "spec": {"accessModes": ["ReadWriteOnce"], "csi": {
            "driver": "pd.csi.storage.gke.io", "volumeHandle": f"projects/{project}/zones/{zone}/disks/{disk}",
            "fsType": "ext4"}}}
    return {"metadata": {"name": "pv-www-0", "labels": {"topology.kubernetes.io/zone": zone}},
            "spec": {"accessModes": ["ReadWriteOnce"], "gcePersistentDisk": {"pdName": disk, "fsType": "ext4"}}}


def record(**fields: Any) -> VolumeRecord:
    base: VolumeRecord = {
        "namespace": "shop", "pvc": "www-web-0", "pv": "pv-www-0", "method": "gce-pd",
        "snapshotHandle": "salvage-nightly-www-web-0-0123456789", "project": PROJECT, "availabilityZone": ZONE,
        "diskName": "pd-www-0", "volumeType": "pd-ssd", "sizeGiB": 20, "pvSource": "csi"}
    base.update(fields)  # type: ignore[typeddict-item]
    return base


@pytest.mark.parametrize("form", ["gcePersistentDisk", "csi"])
def test_capture_recreate_and_delete_round_trip(gce: tuple[str, ComputeState], form: str) -> None:
    endpoint, state = gce
    make_disk(state, labels={"goog-k8s-cluster-name": "gke-prod"})
    gcp = provider(endpoint, project=PROJECT if form == "gcePersistentDisk" else None)
    events: list[str] = []
    captured = gcp.capture(CLAIM, pv(form), "Nightly.0716", timeout=5, progress=lambda e: events.append(e.state))
    assert (captured["method"], captured["project"], captured["availabilityZone"], captured["diskName"]) == (
        "gce-pd", PROJECT, ZONE, "pd-www-0")
    assert (captured["volumeType"], captured["sizeGiB"], captured["restoreSize"]) == ("pd-ssd", 20, 20 << 30)
    assert (captured["kmsKeyName"], captured["cluster"], captured["pvSource"], captured["fsType"]) == (
        KMS, "gke-prod", form, "ext4")
    [snapshot] = state.snapshots.values()
    assert snapshot["name"] == captured["snapshotHandle"] and snapshot["status"] == "READY"
    assert snapshot["sourceDisk"].endswith(f"/projects/{PROJECT}/zones/{ZONE}/disks/pd-www-0")
    assert snapshot["labels"] == {"salvage-backup": "nightly-0716", "salvage-namespace": "shop",
                                  "salvage-pvc": "www-web-0", "salvage-pv": "pv-www-0", "salvage-cluster": "gke-prod"}
    assert "salvage backup Nightly.0716: shop/www-web-0" in snapshot["description"], "the exact names"
    assert any(e.endswith("READY") for e in events), "the snapshot's state is reported"

    spec = gcp.recreate(captured, timeout=5, progress=quiet)
    [new] = [d for (_p, _z, name), d in state.disks.items() if name != "pd-www-0"]
    assert new["zone"].endswith(f"/zones/{ZONE}") and new["type"].endswith("/diskTypes/pd-ssd")
    assert (new["sizeGb"], new["status"], new["sourceSnapshot"]) == ("20", "READY", snapshot["selfLink"])
    assert new["diskEncryptionKey"] == {"kmsKeyName": KMS}
    assert new["labels"] == {"salvage-namespace": "shop", "salvage-pvc": "www-web-0", "salvage-cluster": "gke-prod",
                             "salvage-from-snapshot": captured["snapshotHandle"]}
    if form == "csi":
        assert spec["csi"]["volumeHandle"] == f"projects/{PROJECT}/zones/{ZONE}/disks/{new['name']}"
    else:
        assert spec["gcePersistentDisk"] == {"pdName": new["name"], "fsType": "ext4"}

    gcp.discard(spec, captured)
    assert [name for (_p, _z, name) in state.disks] == ["pd-www-0"] or \
        state.disks[(PROJECT, ZONE, new["name"])]["status"] == "DELETING", "discard deletes the new disk"
    assert gcp.delete_captured(captured)
    assert state.snapshots == {}
    assert not gcp.delete_captured(captured), "already gone"


def test_presence_answers_gone_only_on_gces_word(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    make_disk(state)
    settings = GceSettings(endpoint=endpoint, credentials="anonymous")
    assert volume_presence(pv("csi"), gce=settings) is Presence.PRESENT
    assert volume_presence(pv("csi", disk="pd-deleted"), gce=settings) is Presence.GONE
    state.disks[(PROJECT, ZONE, "pd-www-0")]["status"] = "DELETING"
    assert volume_presence(pv("csi"), gce=settings) is Presence.GONE
    unreachable = GceSettings(endpoint="http://127.0.0.1:9", credentials="anonymous")
    assert volume_presence(pv("csi"), gce=unreachable) is Presence.UNKNOWN
    other_project = GceSettings(endpoint=endpoint, credentials="anonymous", project="elsewhere")
    assert volume_presence(pv("csi"), gce=other_project) is Presence.UNKNOWN
    assert volume_presence(pv("csi", project="no-such-project"), gce=settings) is Presence.UNKNOWN, \
        "a 404 for the project is not a 404 for the disk"


def test_a_disk_in_another_project_than_the_configured_one(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    make_disk(state)
    with pytest.raises(CloudError, match="in GCE project salvage-test, but the configured project is elsewhere"):
        provider(endpoint, project="elsewhere").capture(CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    assert state.snapshots == {}


def test_a_disk_that_does_not_exist_is_not_captured(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    with pytest.raises(CloudError, match="GCE refused reading GCE disk pd-www-0 of shop/www-web-0: 404"):
        provider(endpoint).capture(CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    assert state.snapshots == {}


@pytest.mark.parametrize(("fields", "message"), [
    ({"availabilityZone": "us-central1-z"}, "Zone us-central1-z does not exist in GCE project salvage-test"),
    ({"project": "no-such-project"}, "Zone us-central1-b does not exist in GCE project no-such-project"),
    ({"volumeType": "pd-extreme"}, "cannot create a 20 GiB pd-extreme disk"),
    ({}, "GCE snapshot salvage-nightly-www-web-0-0123456789 of shop/www-web-0 does not exist"),
])
def test_restore_refuses_bad_input_before_creating_a_disk(gce: tuple[str, ComputeState], fields: dict[str, Any],
                                                          message: str) -> None:
    endpoint, state = gce
    gcp = provider(endpoint)
    with pytest.raises(CloudError, match=message):
        gcp.check_recreate(record(**fields))
    with pytest.raises(CloudError, match=message):
        gcp.recreate(record(**fields), timeout=5, progress=quiet)
    assert state.disks == {}


def test_a_snapshot_that_is_not_ready_makes_no_disk(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    make_disk(state)
    gcp = provider(endpoint)
    captured = gcp.capture(CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    state.snapshots[(PROJECT, captured["snapshotHandle"])]["status"] = "UPLOADING"
    with pytest.raises(CloudError, match="is UPLOADING, not READY"):
        gcp.recreate(captured, timeout=5, progress=quiet)
    assert list(state.disks) == [(PROJECT, ZONE, "pd-www-0")]


def test_a_snapshot_that_fails_is_reported_and_deleted(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    make_disk(state)
    state.fail_snapshots_of = {"pd-www-0"}
    with pytest.raises(CloudError, match=r"GCE failed GCE snapshot salvage-nightly-.* INTERNALERROR: .* failed.*"
                                         "the snapshot was deleted"):
        provider(endpoint).capture(CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    assert [s["status"] for s in state.snapshots.values()] in ([], ["DELETING"])


def test_a_snapshot_past_the_timeout(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    make_disk(state)
    state.polls = 10_000
    with pytest.raises(CloudError, match="was not ready within 0s") as caught:
        provider(endpoint).capture(CLAIM, pv("csi"), "nightly", timeout=0, progress=quiet)
    assert "--snapshot-timeout" in (caught.value.hint or "")


def test_missing_credentials(gce: tuple[str, ComputeState], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    endpoint, state = gce
    make_disk(state)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    gcp = GcePdProvider(GceSettings(endpoint=endpoint), poll_interval=0)
    with pytest.raises(CloudCredentialsError, match="No usable GCE credentials"):
        gcp.check_access()
    with pytest.raises(CloudCredentialsError):
        gcp.capture(CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    with pytest.raises(CloudCredentialsError):
        gcp.check_recreate(record())
    bad_key = tmp_path / "key.json"
    bad_key.write_text("{}")
    with pytest.raises(CloudCredentialsError, match="No usable GCE credentials"):
        GcePdProvider(GceSettings(endpoint=endpoint, credentials=str(bad_key))).check_access()
    assert state.snapshots == {}
