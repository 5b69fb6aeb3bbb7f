"""Azure Disk through azure-mgmt-compute against our ARM test server (in this process, on
loopback over TLS, a test bearer token): the SDK's auth pipeline and ARM poller run end to
end. The server follows the published REST reference; it is not Azure (docs/test-servers.md
says what that leaves unproved)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from salvage.devcluster.servers.azure_compute import SUBSCRIPTION, ArmState, answer
from salvage.devcluster.servers.json_http import serve_in_thread
from salvage.model.cloud_settings import AzureSettings
from salvage.model.errors import CloudError
from salvage.volumes.azure_disk import AzureDiskProvider
from salvage.volumes.azure_disk_spec import disk_id
from salvage.model.progress import quiet

GROUP, REGION = "salvage-test", "westeurope"
DES = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Compute/diskEncryptionSets/des"
CLAIM = {"metadata": {"namespace": "shop", "name": "www-web-0"},
         "spec": {"storageClassName": "managed-csi", "resources": {"requests": {"storage": "20Gi"}}}}


@pytest.fixture
def arm() -> Iterator[tuple[AzureSettings, ArmState]]:
    """The test server; every operation takes three reads to end, so the poller goes round."""
    state = ArmState(polls=3)
    with serve_in_thread(lambda request, base: answer(state, request, base), tls=True, name="arm") as (base, cert):
        yield AzureSettings(endpoint=base, ca_bundle=str(cert), credentials="test-token"), state


def provider(settings: AzureSettings, **changes: Any) -> AzureDiskProvider:
    return AzureDiskProvider(AzureSettings(**{**settings.__dict__, **changes}), poll_interval=0)


def make_disk(settings: AzureSettings, name: str = "pvc-www-0", *, zone: str | None = "2",
              sku: str = "Premium_LRS", size: int = 20, des: str | None = DES) -> str:
    compute = provider(settings)._client(SUBSCRIPTION)
    body: dict[str, Any] = {"location": REGION, "sku": {"name": sku},
                            "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": size}}
    if zone:
        body["zones"] = [zone]
    if des:
        body["properties"]["encryption"] = {"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": des}
    return str(compute.disks.begin_create_or_update(GROUP, name, body, polling_interval=0).result().id)


def pv(form: str, disk: str = "pvc-www-0") -> dict[str, Any]:
    rid = disk_id(SUBSCRIPTION, GROUP, disk)
    if form == "csi":
        return {"metadata": {"name": "pv-www-0"}, "spec": {"accessModes": ["ReadWriteOnce"], "csi": {
            "driver": "disk.csi.azure.com", "volumeHandle": rid, "fsType": "ext4"}}}
    return {"metadata": {"name": "pv-www-0"}, "spec": {"accessModes": ["ReadWriteOnce"], "azureDisk": {
        "diskName": disk, "diskURI": rid, "kind": "Managed", "fsType": "xfs"}}}


def resources(state: ArmState, kind: str) -> dict[str, Any]:
    return {r["name"]: r for r in state.resources.values() if r["type"] == f"Microsoft.Compute/{kind}"}


@pytest.mark.parametrize("form", ["csi", "azureDisk"])
def test_round_trip_keeps_zone_sku_size_encryption_and_form(arm, form):
    settings, state = arm
    make_disk(settings)
    azure = provider(settings, cluster_name="prod")

    record = azure.capture(CLAIM, pv(form), "nightly", timeout=30, progress=quiet)

    [snapshot] = resources(state, "snapshots").values()
    assert record["snapshotHandle"] == snapshot["id"] and snapshot["properties"]["incremental"]
    assert snapshot["properties"]["provisioningState"] == "Succeeded"
    assert snapshot["tags"] == {"salvage-backup": "nightly", "salvage-namespace": "shop", "salvage-pvc": "www-web-0",
                                "salvage-pv": "pv-www-0", "salvage-cluster": "prod"}
    assert snapshot["properties"]["encryption"]["diskEncryptionSetId"] == DES
    assert (record["region"], record["availabilityZone"], record["volumeType"], record["sizeGiB"]) == (
        REGION, "2", "Premium_LRS", 20)
    assert record["pvSource"] == form and record["diskEncryptionSetId"] == DES

    compute = azure._client(SUBSCRIPTION)
    compute.disks.begin_delete(GROUP, "pvc-www-0", polling_interval=0).result()
    assert azure.presence(pv(form)) == "gone"
    azure.check_recreate(record)
    spec = azure.recreate(record, timeout=30, progress=quiet)

    [disk] = [d for name, d in resources(state, "disks").items() if name != "pvc-www-0"]
    assert disk["zones"] == ["2"] and disk["sku"]["name"] == "Premium_LRS" and disk["location"] == REGION
    assert disk["properties"]["diskSizeGB"] == 20
    assert disk["properties"]["creationData"] == {"createOption": "Copy", "sourceResourceId": snapshot["id"]}
    assert disk["properties"]["encryption"] == {"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": DES}
    assert disk["tags"]["salvage-pvc"] == "www-web-0" and disk["tags"]["salvage-cluster"] == "prod"
    source = spec["csi"]["volumeHandle"] if form == "csi" else spec["azureDisk"]["diskURI"]
    assert source == disk["id"]
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [
        "westeurope-2"]
    assert azure.presence({"metadata": {"name": "new"}, "spec": spec}) == "present"

    assert azure.delete_captured(record) is True
    assert resources(state, "snapshots") == {}
    assert azure.delete_captured(record) is False


def test_a_regional_disk_is_not_pinned_to_a_zone(arm):
    settings, _ = arm
    make_disk(settings, zone=None, des=None)
    azure = provider(settings)
    record = azure.capture(CLAIM, pv("csi"), "nightly", timeout=30, progress=quiet)
    assert record["availabilityZone"] == "" and "diskEncryptionSetId" not in record
    spec = azure.recreate(record, timeout=30, progress=quiet)
    assert "nodeAffinity" not in spec


def test_a_failed_snapshot_is_deleted_and_said(arm):
    settings, state = arm
    make_disk(settings)
    state.fail_snapshots_of = {"pvc-www-0"}
    with pytest.raises(CloudError, match="InternalOperationError.*it was deleted"):
        provider(settings).capture(CLAIM, pv("csi"), "nightly", timeout=30, progress=quiet)
    assert [s["properties"]["provisioningState"] for s in resources(state, "snapshots").values()] in ([], ["Deleting"])


def test_a_snapshot_past_the_timeout_is_a_clear_error(arm):
    settings, state = arm
    make_disk(settings)
    state.polls = 10_000
    with pytest.raises(CloudError, match="was not ready within 0s"):
        provider(settings).capture(CLAIM, pv("csi"), "nightly", timeout=0, progress=quiet)


def test_bad_input_is_refused_before_anything_is_created(arm):
    settings, state = arm
    make_disk(settings)
    azure = provider(settings)
    record = azure.capture(CLAIM, pv("csi"), "nightly", timeout=30, progress=quiet)
    before = set(state.resources)

    with pytest.raises(CloudError, match="configured one is") as wrong:
        provider(settings, subscription_id="11111111-1111-1111-1111-111111111111").check_recreate(record)
    assert "--azure-subscription" in wrong.value.hint
    with pytest.raises(CloudError, match="SubscriptionNotFound"):
        provider(settings).check_recreate({**record, "subscription": "11111111-1111-1111-1111-111111111111"})
    with pytest.raises(CloudError, match="Resource group elsewhere cannot be used"):
        provider(settings, resource_group="elsewhere").check_recreate(record)
    with pytest.raises(CloudError, match="SKU 'Fancy_LRS'"):
        azure.check_recreate({**record, "volumeType": "Fancy_LRS"})
    with pytest.raises(CloudError, match="does not exist"):
        azure.check_recreate({**record, "snapshotHandle": record["snapshotHandle"] + "-gone"})
    assert set(state.resources) == before

    state.quota_gib = 30  # 20 GiB in use: another 20 is over
    with pytest.raises(CloudError, match="OperationNotAllowed") as quota:
        azure.recreate(record, timeout=30, progress=quiet)
    assert "quota" in quota.value.hint
    assert set(state.resources) == before


def test_without_a_token_arm_refuses_and_over_http_the_sdk_does(arm):
    settings, state = arm
    from salvage.devcluster.servers.json_http import Request

    refused = answer(state, Request("GET", f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/"
                                           "Microsoft.Compute/disks/x", {"api-version": "2024-03-02"}, {}, {}), "")
    assert refused.status == 401 and refused.body["error"]["code"] == "AuthenticationFailed"
    with pytest.raises(CloudError, match="could not be reached"):
        provider(settings, endpoint=settings.endpoint.replace("https", "http")).capture(
            CLAIM, pv("csi"), "nightly", timeout=30, progress=quiet)


def test_presence_is_unknown_when_arm_cannot_say(arm):
    settings, _ = arm
    assert provider(settings, subscription_id="11111111-1111-1111-1111-111111111111").presence(pv("csi")) == "unknown"
    wrong_group = pv("csi")
    wrong_group["spec"]["csi"]["volumeHandle"] = disk_id(SUBSCRIPTION, "no-such-group", "d")
    assert provider(settings).presence(wrong_group) == "unknown"
    assert provider(settings).presence(pv("csi", "never-made")) == "gone"
