"""Azure managed disks behind PersistentVolumes: snapshot for a backup, re-create from a snapshot.

The one module that talks to Azure compute (azure-mgmt-compute, credentials from
azure-identity). Azure's errors become CloudError here, raised ``from`` the original. Every
check that can fail (credentials, subscription, resource group, SKU, the snapshot's state)
runs before the first call that creates something, so a refused request changes nothing.
Long-running operations are waited for by the SDK's own ARM poller.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.mgmt.compute import ComputeManagementClient

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.cloud_settings import AzureSettings
from salvage.model.errors import CloudCredentialsError, CloudError
from salvage.model.progress import VolumeState
from salvage.volumes.azure_disk_spec import (
    METHOD,
    check_sku,
    disk_ref,
    is_azure_disk,
    persistent_volume_spec,
    resource_name,
    tags,
)
from salvage.volumes.base import JSON, Progress, claim_fields, copy_record, relocated
from salvage.volumes.cloud_polling import poll

_SNAPSHOT_SKU = "Standard_ZRS"  # incremental snapshots: Standard_LRS or _ZRS; ZRS outlives a zone


class _TestToken:
    """A fixed bearer token, for test servers ("test-token"); the SDK's auth pipeline still runs."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("salvage-test-token", int(time.time()) + 3600)


class AzureDiskProvider:
    """Implements :class:`salvage.volumes.base.VolumeProvider` for Azure managed disks."""

    method = METHOD

    def __init__(self, settings: AzureSettings, *, poll_interval: float = 5.0) -> None:
        self.settings = settings
        self.poll_interval = poll_interval
        self._credential: Any = None
        self._clients: dict[str, ComputeManagementClient] = {}

    def owns(self, pv: JSON) -> bool:
        return is_azure_disk(pv)

    def presence(self, pv: JSON) -> str:
        """``gone`` only on ARM's own word (ResourceNotFound in a group that exists, or being
        deleted), ``present`` when it has the disk, ``unknown`` when it cannot be asked."""
        try:
            ref = disk_ref(pv)
            disk = self._client(self._subscription(ref.subscription, "the PV")).disks.get(ref.resource_group, ref.disk)
        except HttpResponseError as exc:
            return "gone" if _code(exc) == "ResourceNotFound" else "unknown"
        except (CloudError, AzureError):
            return "unknown"
        return "gone" if disk.provisioning_state == "Deleting" else "present"

    def check_access(self) -> None:
        """Fail early, before a backup writes anything, when no credentials can be found."""
        self._creds()

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float, progress: Progress) -> VolumeRecord:
        ref = disk_ref(pv)
        namespace, pvc, pv_name = claim["metadata"]["namespace"], claim["metadata"]["name"], pv["metadata"]["name"]
        label = f"{namespace}/{pvc}"
        subscription = self._subscription(ref.subscription, f"PersistentVolume {pv_name}")
        compute = self._client(subscription)
        with _translated(f"reading Azure disk {ref.disk} of {label}"):
            disk = compute.disks.get(ref.resource_group, ref.disk)
        cluster = self.settings.cluster_name
        name = resource_name(backup, pvc, salt=f"{namespace}/{secrets.token_hex(8)}")
        des = disk.encryption.disk_encryption_set_id if disk.encryption else None
        copy_to = self._copy_regions(disk.location, des, label)
        encryption = {"type": _text(disk.encryption.type), "diskEncryptionSetId": des} if des else None
        body = {"location": disk.location, "sku": {"name": _SNAPSHOT_SKU},
                "tags": tags(backup=backup, namespace=namespace, pvc=pvc, pv=pv_name, cluster=cluster),
                "properties": {"incremental": True, "encryption": encryption,
                               "creationData": {"createOption": "Copy", "sourceResourceId": disk.id}}}
        progress(VolumeState(label, f"snapshotting Azure disk {ref.disk} as {name}"))
        with _translated(f"snapshotting Azure disk {ref.disk} of {label}"):
            poller = compute.snapshots.begin_create_or_update(ref.resource_group, name, body,
                                                              polling_interval=self.poll_interval)
        snapshot = self._finish(poller, f"Azure snapshot {name} of {label}", timeout, "raise --snapshot-timeout",
                                on_failure=lambda: self._delete_snapshot(compute, ref.resource_group, name))
        copies = self._copy(compute, ref.resource_group, snapshot, copy_to, body["tags"], label, timeout, progress)
        record = claim_fields(
            claim, pv, METHOD, snapshotHandle=snapshot.id, restoreSize=int(disk.disk_size_gb) << 30,
            subscription=subscription, resourceGroup=ref.resource_group, region=disk.location,
            availabilityZone=(disk.zones or [""])[0], diskName=ref.disk, volumeType=_text(disk.sku.name),
            sizeGiB=int(disk.disk_size_gb), pvSource=ref.form, **({"copies": copies} if copies else {}))
        optional = {"diskEncryptionSetId": des,
                    "fsType": ref.fs_type, "cluster": cluster}
        record.update({k: v for k, v in optional.items() if v})  # type: ignore[typeddict-item]
        return record

    def check_recreate(self, record: VolumeRecord) -> None:
        self._plan(self._relocated(record))

    def _relocated(self, record: VolumeRecord) -> VolumeRecord:
        """``record`` as if taken where it is restored: with a --restore-region, the copy's
        snapshot, region, zone (number) and disk encryption set in place of the original's."""
        label = f"{record.get('namespace')}/{record.get('pvc')}"
        region, zone, copy = relocated(record, self.settings.regions, record.get("region") or "", label)
        if copy is None:
            return {**record, "availabilityZone": zone} if zone != record.get("availabilityZone") else record
        moved: VolumeRecord = {**record, "region": region, "availabilityZone": zone,  # type: ignore[typeddict-item]
                               "snapshotHandle": copy["snapshotHandle"]}
        moved.pop("diskEncryptionSetId", None)
        if copy.get("diskEncryptionSetId"):
            moved["diskEncryptionSetId"] = copy["diskEncryptionSetId"]
        return moved

    def recreate(self, record: VolumeRecord, *, timeout: float, progress: Progress) -> JSON:
        record = self._relocated(record)
        subscription, group = self._plan(record)
        label = f"{record['namespace']}/{record['pvc']}"
        name = resource_name(record["namespace"], record["pvc"], salt=secrets.token_hex(8))
        encryption = {"type": "EncryptionAtRestWithPlatformKey"}
        if record.get("diskEncryptionSetId"):
            encryption = {"type": "EncryptionAtRestWithCustomerKey",
                          "diskEncryptionSetId": record["diskEncryptionSetId"]}
        body: JSON = {"location": record["region"], "sku": {"name": record["volumeType"]},
                      "tags": tags(namespace=record["namespace"], pvc=record["pvc"], cluster=self._cluster(record),
                                   **{"from-snapshot": record["snapshotHandle"].rsplit("/", 1)[-1]}),
                      "properties": {"diskSizeGB": record["sizeGiB"], "encryption": encryption,
                                     "creationData": {"createOption": "Copy",
                                                      "sourceResourceId": record["snapshotHandle"]}}}
        if record.get("availabilityZone"):
            body["zones"] = [record["availabilityZone"]]
        progress(VolumeState(label, f"creating Azure disk {name} in {group} from its snapshot"))
        compute = self._client(subscription)
        with _translated(f"creating an Azure disk for {label}"):
            poller = compute.disks.begin_create_or_update(group, name, body, polling_interval=self.poll_interval)
        self._finish(poller, f"Azure disk {name} for {label}", timeout, "raise --timeout")
        progress(VolumeState(label, f"Azure disk {name} ready"))
        return persistent_volume_spec(record, subscription, group, name)

    def discard(self, pv_spec: JSON, record: VolumeRecord) -> None:
        ref = disk_ref({"metadata": {"name": record.get("pv", "?")}, "spec": pv_spec})
        with _translated(f"deleting Azure disk {ref.disk}"):
            self._client(ref.subscription).disks.begin_delete(ref.resource_group, ref.disk)

    def delete_captured(self, record: VolumeRecord) -> bool:
        if record.get("method") != METHOD or not record.get("snapshotHandle"):
            return False
        compute = self._client(record["subscription"])
        for copy in record.get("copies") or []:  # the copies first: the original is the one to keep last
            self._delete_if_there(compute, copy["snapshotHandle"])
        return self._delete_if_there(compute, record["snapshotHandle"])

    def _delete_if_there(self, compute: ComputeManagementClient, snapshot_id: str) -> bool:
        group, name = snapshot_id.split("/resourceGroups/", 1)[1].split("/", 1)[0], snapshot_id.rsplit("/", 1)[-1]
        try:
            with _translated(f"looking up Azure snapshot {name}"):
                compute.snapshots.get(group, name)
        except CloudError as exc:
            if _code(exc.__cause__) == "ResourceNotFound":
                return False
            raise
        self._delete_snapshot(compute, group, name, wait=300)
        return True

    def _copy_regions(self, region: str, des: str | None, label: str) -> list[str]:
        """The --copy-snapshots-to regions other than the disk's; refused before any snapshot
        when the disk's customer key (a disk encryption set, which is regional) has no
        counterpart in the copy's region."""
        wanted = [r for r in self.settings.regions.copy_to if r.lower().replace(" ", "") != region]
        if wanted and des and not self.settings.regions.copy_kms_key:
            raise CloudError(f"The disk of {label} is encrypted with disk encryption set {des}, which cannot "
                             f"encrypt a copy in {', '.join(wanted)}; nothing was changed.",
                             hint="Pass --copy-kms-key with the ID of a disk encryption set in the copy's region.")
        return wanted

    def _copy(self, compute: ComputeManagementClient, group: str, original: Any, regions: list[str],
              snapshot_tags: dict[str, str], label: str, timeout: float, progress: Progress) -> list[JSON]:
        """A cross-region copy of the incremental snapshot in each region (``CopyStart``),
        waited for until its background copy is complete. If one fails, the copies made so
        far and the original are deleted."""
        copies: list[JSON] = []
        key = self.settings.regions.copy_kms_key
        try:
            for target in regions:
                name = f"{original.name[:70]}-{target[:9]}"
                body = {"location": target, "sku": {"name": _SNAPSHOT_SKU},
                        "tags": {**snapshot_tags, **tags(**{"copy-of": original.name})},
                        "properties": {"incremental": True, "creationData": {
                            "createOption": "CopyStart", "sourceResourceId": original.id},
                            **({"encryption": {"type": "EncryptionAtRestWithCustomerKey",
                                               "diskEncryptionSetId": key}} if key else {})}}
                progress(VolumeState(label, f"copying Azure snapshot {original.name} to {target}"))
                with _translated(f"copying Azure snapshot {original.name} of {label} to {target}"):
                    poller = compute.snapshots.begin_create_or_update(group, name, body,
                                                                      polling_interval=self.poll_interval)
                copies.append(copy_record(target, f"{original.id.rsplit('/', 1)[0]}/{name}", diskEncryptionSetId=key))
                self._finish(poller, f"Azure snapshot copy {name} of {label}", timeout, "raise --snapshot-timeout")
                self._wait_copied(compute, group, name, label, timeout, progress)
        except CloudError:
            for made in [*copies, {"snapshotHandle": original.id}]:
                try:
                    self._delete_if_there(compute, made["snapshotHandle"])
                except CloudError:
                    pass  # the next run's delete finds it
            raise
        return copies

    def _wait_copied(self, compute: ComputeManagementClient, group: str, name: str, label: str, timeout: float,
                     progress: Progress) -> None:
        def copied() -> bool:
            snapshot = compute.snapshots.get(group, name)
            error = getattr(snapshot, "copy_completion_error", None)
            if error is not None:
                raise CloudError(f"Azure could not copy snapshot {name} of {label}: "
                                 f"{_text(error.error_code)}: {error.error_message}")
            progress(VolumeState(label, f"Azure snapshot copy {name} {snapshot.completion_percent or 0:.0f}%"))
            return (snapshot.completion_percent or 0) >= 100

        poll(copied, timeout=timeout, interval=self.poll_interval, what=f"Azure snapshot copy {name} of {label}",
             hint="Check it in the Azure portal, or raise --snapshot-timeout.", translated=_translated)

    def _plan(self, record: VolumeRecord) -> tuple[str, str]:
        """The subscription and resource group for re-creating ``record``; raises on bad input,
        changes nothing."""
        label = f"{record.get('namespace')}/{record.get('pvc')}"
        subscription = self._subscription(record.get("subscription"), f"the volume of {label}")
        group = self.settings.resource_group or record.get("resourceGroup") or ""
        check_sku(record)
        compute = self._client(subscription)
        try:  # a disk name no one uses: ARM says whether the group exists
            with _translated(f"looking up resource group {group}"):
                compute.disks.get(group, "salvage-probe-that-does-not-exist")
        except CloudError as exc:
            if _code(exc.__cause__) != "ResourceNotFound":
                raise CloudError(f"Resource group {group} cannot be used in Azure subscription {subscription}: "
                                 f"{exc.message}", hint="Check --azure-resource-group and --azure-subscription.") from exc
        name = str(record.get("snapshotHandle") or "").rsplit("/", 1)[-1]
        try:
            with _translated(f"looking up Azure snapshot {name}"):
                snapshot = compute.snapshots.get(record["resourceGroup"], name)
        except CloudError as exc:
            if _code(exc.__cause__) != "ResourceNotFound":
                raise
            raise CloudError(f"Azure snapshot {name} of {label} does not exist (deleted?).",
                             hint="Pick another backup with `salvage backup get`.") from exc
        if snapshot.provisioning_state != "Succeeded" or (snapshot.completion_percent or 100) < 100:
            raise CloudError(f"Azure snapshot {name} of {label} is {snapshot.provisioning_state}, not complete.",
                             hint="Wait for it, or pick another backup.")
        return subscription, group

    def _finish(self, poller: Any, what: str, timeout: float, remedy: str, on_failure: Any = None) -> Any:
        """The operation's result once the SDK's poller ends; a failed one runs ``on_failure``
        (deleting what it left) and says so; one still running after ``timeout`` is an error."""
        try:
            with _translated(f"waiting for {what}"):
                poller.wait(timeout)
                result = poller.result() if poller.done() else None
        except CloudError as exc:
            if on_failure is None:
                raise
            on_failure()
            raise CloudError(f"{exc.message}; it was deleted.",
                             hint="Check the disk in the Azure portal and run the backup again.") from exc
        if result is None:
            raise CloudError(f"{what} was not ready within {timeout:.0f}s.", hint=f"{remedy[:1].upper()}{remedy[1:]}.")
        return result

    def _delete_snapshot(self, compute: ComputeManagementClient, group: str, name: str, wait: float = 0) -> None:
        with _translated(f"deleting Azure snapshot {name}"):
            poller = compute.snapshots.begin_delete(group, name, polling_interval=self.poll_interval)
            if wait:
                poller.wait(wait)

    def _cluster(self, record: VolumeRecord) -> str | None:
        return self.settings.cluster_name or record.get("cluster")

    def _subscription(self, named: str | None, what: str) -> str:
        configured = self.settings.subscription_id
        if configured and named and configured.lower() != named.lower():
            raise CloudError(f"{what} is in Azure subscription {named}, but the configured one is {configured}.",
                             hint=f"Pass --azure-subscription {named}, or leave it out.")
        subscription = configured or named
        if not subscription:
            raise CloudError(f"No Azure subscription for {what}.", hint="Pass --azure-subscription.")
        return subscription

    def _creds(self) -> Any:
        if self._credential is None:
            if self.settings.credentials == "test-token":
                self._credential = _TestToken()
            else:
                try:
                    from azure.identity import DefaultAzureCredential

                    self._credential = DefaultAzureCredential()
                except (ImportError, AzureError, ValueError) as exc:
                    raise CloudCredentialsError(
                        f"No usable Azure credentials ({exc}); nothing was changed.",
                        hint="Set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, use workload "
                             "identity, or run `az login`.") from exc
        return self._credential

    def _client(self, subscription: str) -> ComputeManagementClient:
        if subscription not in self._clients:
            options: dict[str, Any] = {}
            if self.settings.endpoint:
                options["base_url"] = self.settings.endpoint
                options["credential_scopes"] = ["https://management.azure.com/.default"]
            if self.settings.ca_bundle:
                options["connection_verify"] = self.settings.ca_bundle
            self._clients[subscription] = ComputeManagementClient(self._creds(), subscription,
                                                                  polling_interval=self.poll_interval, **options)
        return self._clients[subscription]


def _text(value: Any) -> str:
    """An SDK enum member (or plain string) as ARM spells it."""
    return str(getattr(value, "value", value))


def _code(exc: BaseException | None) -> str | None:
    error = getattr(exc, "error", None)
    return getattr(error, "code", None)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except ClientAuthenticationError as exc:
        raise CloudCredentialsError(f"Azure refused the credentials while {what}: {exc.message}",
                                    hint="Check the identity's role assignments (Disk Snapshot Contributor).") from exc
    except HttpResponseError as exc:
        code = _code(exc) or exc.status_code
        message = (exc.error.message if exc.error else None) or exc.message
        hints = {"SubscriptionNotFound": "Check --azure-subscription.",
                 "ResourceGroupNotFound": "Check the resource group (--azure-resource-group on restore).",
                 "OperationNotAllowed": "A quota was reached: raise it, or free some disks.",
                 "AuthorizationFailed": "Grant the identity the Disk Snapshot Contributor role."}
        raise CloudError(f"Azure refused {what}: {code}: {message}",
                         hint=hints.get(str(code), "See the Azure activity log.")) from exc
    except AzureError as exc:
        raise CloudError(f"Azure could not be reached while {what}: {exc}",
                         hint="Check the network, or --azure-endpoint.") from exc
