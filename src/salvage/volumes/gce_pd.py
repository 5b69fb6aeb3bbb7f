"""GCE Persistent Disks behind PersistentVolumes: snapshot for a backup, re-create from a snapshot.

The one module that talks to GCE compute (google-cloud-compute, over its REST transport).
Google's errors become CloudError here, raised ``from`` the original. Every check that can
fail (credentials, project, zone, disk type, the snapshot's state) runs before the first call
that creates something, so a refused request changes nothing.

Operations are waited for here, with our own zone/global operation clients: the SDK's
``ExtendedOperation.result()`` polls through clients it makes without the endpoint setting,
so against a test server or a private endpoint it would ask compute.googleapis.com.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import google.auth
import requests
from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.auth import credentials as auth_credentials
from google.auth import exceptions as auth_exceptions
from google.cloud import compute_v1
from google.oauth2 import service_account

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.cloud_settings import GceSettings
from salvage.model.errors import CloudCredentialsError, CloudError
from salvage.model.progress import VolumeState
from salvage.volumes.base import JSON, Progress, claim_fields, copy_record, mapped_zone, relocated
from salvage.volumes.cloud_polling import poll
from salvage.volumes.gce_pd_spec import (
    METHOD,
    check_disk_type,
    disk_ref,
    is_gce_pd,
    labels,
    persistent_volume_spec,
    region_of,
    regional_pv_spec,
    resource_name,
)

SCOPES = ["https://www.googleapis.com/auth/compute"]
_DONE = compute_v1.Operation.Status.DONE


class GcePdProvider:
    """Implements :class:`salvage.volumes.base.VolumeProvider` for GCE Persistent Disk."""

    method = METHOD

    def __init__(self, settings: GceSettings, *, poll_interval: float = 1.0) -> None:
        self.settings = settings
        self.poll_interval = poll_interval
        self._credentials: Any = None
        self._default_project: str | None = None
        self._clients: dict[str, Any] = {}

    def owns(self, pv: JSON) -> bool:
        return is_gce_pd(pv)

    def presence(self, pv: JSON) -> str:
        """Whether the disk behind ``pv`` still exists: ``gone`` only on GCE's own word (404, or
        being deleted), ``present`` when GCE has it, ``unknown`` when GCE cannot be asked."""
        try:
            ref = disk_ref(pv)
            project = self._project(ref.project, f"PersistentVolume {pv.get('metadata', {}).get('name', '?')}")
            try:
                disk = self._disk(project, ref, retry=None, timeout=30)
            except api_exceptions.NotFound:
                # The same 404 answers a project or zone that does not exist (a wrong setting, not a
                # lost disk): the disk is gone only when its zone (or region) answers.
                if ref.region:
                    self._client("regions").get(project=project, region=ref.region, retry=None, timeout=30)
                else:
                    self._client("zones").get(project=project, zone=ref.zone, retry=None, timeout=30)
                return "gone"
        except (CloudError, api_exceptions.GoogleAPICallError, auth_exceptions.GoogleAuthError,
                requests.RequestException):
            return "unknown"
        return "gone" if disk.status == "DELETING" else "present"

    def check_access(self) -> None:
        """Fail early, before a backup writes anything, when no credentials can be found."""
        self._creds()

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float, progress: Progress) -> VolumeRecord:
        ref = disk_ref(pv)
        namespace, pvc, pv_name = claim["metadata"]["namespace"], claim["metadata"]["name"], pv["metadata"]["name"]
        label = f"{namespace}/{pvc}"
        project = self._project(ref.project, f"PersistentVolume {pv_name}")
        with _translated(f"reading GCE disk {ref.disk} of {label}"):
            disk = self._disk(project, ref)
        cluster = self.settings.cluster_name or disk.labels.get("goog-k8s-cluster-name")
        copy_to = self._copy_regions(project, ref.region or region_of(ref.zone))
        name = resource_name(backup, pvc, salt=f"{namespace}/{secrets.token_hex(8)}")
        snapshot = compute_v1.Snapshot(
            name=name, description=f"salvage backup {backup}: {label} (PV {pv_name})",
            labels=labels(backup=backup, namespace=namespace, pvc=pvc, pv=pv_name, cluster=cluster))
        progress(VolumeState(label, f"snapshotting GCE disk {ref.disk} as {name}"))
        scope = f"regions/{ref.region}" if ref.region else ref.zone
        with _translated(f"snapshotting GCE disk {ref.disk} of {label}"):
            if ref.region:
                operation = self._client("region_disks").create_snapshot_unary(
                    project=project, region=ref.region, disk=ref.disk, snapshot_resource=snapshot)
            else:
                operation = self._client("disks").create_snapshot_unary(
                    project=project, zone=ref.zone, disk=ref.disk, snapshot_resource=snapshot)
        self._wait_snapshot(project, scope, operation, name, label, timeout, progress)
        copies = self._copy(project, disk, snapshot, copy_to, label, timeout, progress)
        zones = [z.rsplit("/", 1)[-1] for z in disk.replica_zones]
        record = claim_fields(
            claim, pv, METHOD, snapshotHandle=name, restoreSize=int(disk.size_gb) << 30, project=project,
            availabilityZone=ref.zone or zones[0], diskName=ref.disk, volumeType=disk.type_.rsplit("/", 1)[-1],
            sizeGiB=int(disk.size_gb), pvSource=ref.form, **({"copies": copies} if copies else {}))
        optional = {"kmsKeyName": disk.disk_encryption_key.kms_key_name, "fsType": ref.fs_type, "cluster": cluster,
                    "replicaZones": zones if ref.region else None}
        record.update({k: v for k, v in optional.items() if v})  # type: ignore[typeddict-item]
        return record

    def check_recreate(self, record: VolumeRecord) -> None:
        self._plan(record)

    def recreate(self, record: VolumeRecord, *, timeout: float, progress: Progress) -> JSON:
        project, zones, source = self._plan(record)
        zone, region = zones[0], region_of(zones[0])
        where = f"regions/{region}" if len(zones) > 1 else f"zones/{zone}"
        label = f"{record['namespace']}/{record['pvc']}"
        name = resource_name(record["namespace"], record["pvc"], salt=secrets.token_hex(8))
        disk = compute_v1.Disk(
            name=name, size_gb=record["sizeGiB"], type_=f"{where}/diskTypes/{record['volumeType']}",
            source_snapshot=f"projects/{record['project']}/global/snapshots/{source}",
            description=f"salvage: {label} from snapshot {source}",
            labels=labels(namespace=record["namespace"], pvc=record["pvc"], cluster=self._cluster(record),
                          **{"from-snapshot": source}))
        key = self._key(record, zone)
        if key:
            disk.disk_encryption_key = compute_v1.CustomerEncryptionKey(kms_key_name=key)
        progress(VolumeState(label, f"creating GCE disk {name} in {', '.join(zones)} from {source}"))
        with _translated(f"creating a GCE disk for {label} from snapshot {source}"):
            if len(zones) > 1:
                disk.replica_zones = [f"projects/{project}/zones/{z}" for z in zones]
                operation = self._client("region_disks").insert_unary(project=project, region=region,
                                                                     disk_resource=disk)
            else:
                operation = self._client("disks").insert_unary(project=project, zone=zone, disk_resource=disk)
        self._wait_operation(project, where.removeprefix("zones/"), operation, f"GCE disk {name} for {label}",
                             timeout, "raise --timeout")
        progress(VolumeState(label, f"GCE disk {name} ready"))
        if len(zones) > 1:
            return regional_pv_spec(record, project, region, zones, name)
        return persistent_volume_spec(record, project, zone, name)

    def discard(self, pv_spec: JSON, record: VolumeRecord) -> None:
        ref = disk_ref({"metadata": {"name": record.get("pv", "?")}, "spec": pv_spec})
        project = self._project(ref.project or record.get("project"), f"the volume of {record.get('pvc')}")
        with _translated(f"deleting GCE disk {ref.disk}"):
            if ref.region:
                self._client("region_disks").delete_unary(project=project, region=ref.region, disk=ref.disk)
            else:
                self._client("disks").delete_unary(project=project, zone=ref.zone, disk=ref.disk)

    def delete_captured(self, record: VolumeRecord) -> bool:
        if record.get("method") != METHOD or not record.get("snapshotHandle"):
            return False
        for copy in record.get("copies") or []:  # the copies first: the original is the one to keep last
            self._delete_snapshot(record["project"], copy["snapshotHandle"])
        return self._delete_snapshot(record["project"], record["snapshotHandle"])

    def _delete_snapshot(self, project: str, name: str) -> bool:
        try:
            with _translated(f"deleting GCE snapshot {name}"):
                operation = self._client("snapshots").delete_unary(project=project, snapshot=name)
        except CloudError as exc:
            if isinstance(exc.__cause__, api_exceptions.NotFound):
                return False
            raise
        self._wait_operation(project, "", operation, f"deleting GCE snapshot {name}", 300, "delete it again")
        return True

    def _copy_regions(self, project: str, region: str) -> list[str]:
        """The --copy-snapshots-to regions other than the disk's, each checked with GCE before
        any snapshot is made."""
        wanted = [r for r in self.settings.regions.copy_to if r != region]
        for target in wanted:
            _found(f"region {target} in project {project}",
                   lambda t=target: self._client("regions").get(project=project, region=t),
                   CloudError(f"Cannot copy GCE snapshots to {target}: not a region of project {project}; "
                              "nothing was changed.", hint="List regions with `gcloud compute regions list`."))
        return wanted

    def _copy(self, project: str, disk: Any, original: Any, regions: list[str], label: str, timeout: float,
              progress: Progress) -> list[JSON]:
        """A snapshot of the disk stored in each of ``regions`` (``storageLocations``): GCE has
        no snapshot copy, so the "copy" is a second snapshot, taken right after the original
        (inside the same hooks). If one fails, those made so far and the original are deleted."""
        copies: list[JSON] = []
        try:
            for target in regions:
                name = resource_name(original.name, target, salt=secrets.token_hex(8))
                snapshot = compute_v1.Snapshot(
                    name=name, source_disk=disk.self_link, storage_locations=[target],
                    description=f"salvage copy in {target} of {original.name}: {original.description}",
                    labels={**original.labels, **labels(**{"copy-of": original.name})})
                key = self.settings.regions.copy_kms_key
                if key:
                    snapshot.snapshot_encryption_key = compute_v1.CustomerEncryptionKey(kms_key_name=key)
                progress(VolumeState(label, f"snapshotting GCE disk {disk.name} into {target} as {name}"))
                with _translated(f"snapshotting GCE disk {disk.name} of {label} into {target}"):
                    operation = self._client("snapshots").insert_unary(project=project, snapshot_resource=snapshot)
                copies.append(copy_record(target, name, kmsKeyName=key))
                self._wait_snapshot(project, "", operation, name, label, timeout, progress)
        except CloudError:
            for made in [*copies, {"snapshotHandle": original.name}]:
                try:
                    self._delete_snapshot(project, made["snapshotHandle"])
                except CloudError:
                    pass  # a failed snapshot is deleted by _wait_snapshot already
            raise
        return copies

    def _plan(self, record: VolumeRecord) -> tuple[str, list[str], str]:
        """The project, zones (one, or a regional disk's two) and snapshot (the original, or its
        copy in the --restore-region) for re-creating ``record``; raises on bad input, changes nothing."""
        label = f"{record.get('namespace')}/{record.get('pvc')}"
        original = record.get("availabilityZone") or ""
        old_region = region_of(original) if original else ""
        _, zone, copy = relocated(record, self.settings.regions, old_region, label)
        zones = [mapped_zone(z, old_region, self.settings.regions) for z in record.get("replicaZones") or []] or [zone]
        source = copy["snapshotHandle"] if copy else record["snapshotHandle"]
        project = self._project(record.get("project"), f"the volume of {label}")
        check_disk_type(record)
        if len({region_of(z) for z in zones}) > 1:
            raise CloudError(f"The regional disk of {label} would go into zones {', '.join(zones)} of more than "
                             "one region.", hint="Map both of its zones into one region with --zone-mappings.")
        for zone in zones:
            _found(f"zone {zone} in project {project}", lambda z=zone: self._client("zones").get(project=project, zone=z),
                   CloudError(f"Zone {zone} does not exist in GCE project {project} (or the project does not).",
                              hint="Check --gce-project and --zone-mappings; list zones with "
                                   "`gcloud compute zones list`."))
        self._check_snapshot(record["project"], source, label)
        self._key(record, zones[0])
        return project, zones, source

    def _disk(self, project: str, ref: Any, **call: Any) -> Any:
        if ref.region:
            return self._client("region_disks").get(project=project, region=ref.region, disk=ref.disk, **call)
        return self._client("disks").get(project=project, zone=ref.zone, disk=ref.disk, **call)

    def _key(self, record: VolumeRecord, zone: str) -> str | None:
        """The CMEK key of the re-created disk: the copy's when it has one, else the original's,
        which must be usable in the disk's region (a Cloud KMS key is in one location)."""
        copy = next((c for c in record.get("copies") or [] if c.get("region") == region_of(zone)), None)
        key = (copy or {}).get("kmsKeyName") or record.get("kmsKeyName")
        location = key.split("/locations/", 1)[1].split("/", 1)[0] if key and "/locations/" in key else None
        if key and location not in (None, "global", region_of(zone)):
            raise CloudError(f"The disk of {record.get('namespace')}/{record.get('pvc')} is encrypted with KMS key "
                             f"{key} in {location}, which a disk in {zone} cannot use.",
                             hint="Back up with --copy-kms-key (a key in the copy's region) next to "
                                  "--copy-snapshots-to, or restore in the key's region.")
        return key

    def _check_snapshot(self, project: str, name: str, label: str) -> None:
        try:
            with _translated(f"looking up GCE snapshot {name}"):
                snapshot = self._client("snapshots").get(project=project, snapshot=name)
        except CloudError as exc:
            if not isinstance(exc.__cause__, api_exceptions.NotFound):
                raise
            raise CloudError(f"GCE snapshot {name} of {label} does not exist in project {project} (deleted?).",
                             hint="Pick another backup with `salvage backup get`.") from exc
        if snapshot.status != "READY":
            raise CloudError(f"GCE snapshot {name} of {label} is {snapshot.status}, not READY.",
                             hint="Wait for it, or pick another backup.")

    def _cluster(self, record: VolumeRecord) -> str | None:
        return self.settings.cluster_name or record.get("cluster")

    def _project(self, named: str | None, what: str) -> str:
        """The project of a disk: the configured one must agree with the one the PV or record names."""
        configured = self.settings.project
        if configured and named and configured != named:
            raise CloudError(f"{what} is in GCE project {named}, but the configured project is {configured}.",
                             hint=f"Pass --gce-project {named}, or leave it out.")
        project = configured or named
        if not project:
            self._creds()
            project = self._default_project
        if not project:
            raise CloudError(f"No GCE project for {what}: the PV names none and none is configured.",
                             hint="Pass --gce-project or set SALVAGE_GCE_PROJECT.")
        return project

    def _creds(self) -> Any:
        if self._credentials is None:
            choice = self.settings.credentials
            try:
                if choice == "anonymous":
                    self._credentials = auth_credentials.AnonymousCredentials()
                elif choice:
                    self._credentials = service_account.Credentials.from_service_account_file(choice, scopes=SCOPES)
                    self._default_project = self._credentials.project_id
                else:
                    self._credentials, self._default_project = google.auth.default(scopes=SCOPES)
            except (auth_exceptions.GoogleAuthError, OSError, ValueError) as exc:
                raise CloudCredentialsError(
                    f"No usable GCE credentials ({exc}); nothing was changed.",
                    hint="Set GOOGLE_APPLICATION_CREDENTIALS to a service account key, run "
                         "`gcloud auth application-default login`, or pass --gce-credentials FILE.") from exc
        return self._credentials

    def _client(self, kind: str) -> Any:
        if kind not in self._clients:
            makers = {"disks": compute_v1.DisksClient, "snapshots": compute_v1.SnapshotsClient,
                      "zones": compute_v1.ZonesClient, "regions": compute_v1.RegionsClient,
                      "region_disks": compute_v1.RegionDisksClient,
                      "region_operations": compute_v1.RegionOperationsClient, "zone_operations": compute_v1.ZoneOperationsClient,
                      "global_operations": compute_v1.GlobalOperationsClient}
            options = ClientOptions(api_endpoint=self.settings.endpoint) if self.settings.endpoint else None
            self._clients[kind] = makers[kind](credentials=self._creds(), client_options=options, transport="rest")
        return self._clients[kind]

    def _wait_snapshot(self, project: str, zone: str, operation: Any, name: str, label: str, timeout: float,
                       progress: Progress) -> None:
        what = f"GCE snapshot {name} of {label}"
        try:
            self._wait_operation(project, zone, operation, what, timeout, "raise --snapshot-timeout")
        except CloudError as exc:
            if "was not ready within" in exc.message:
                raise
            self._delete_failed(project, name)
            raise CloudError(f"{exc.message}; the snapshot was deleted.",
                             hint="Check the disk in the GCE console and run the backup again.") from exc

        def ready() -> bool:
            snapshot = self._client("snapshots").get(project=project, snapshot=name)
            progress(VolumeState(label, f"{what} {snapshot.status}"))
            if snapshot.status == "FAILED":
                self._delete_failed(project, name)
                raise CloudError(f"{what} failed; it was deleted.",
                                 hint="Check the disk in the GCE console and run the backup again.")
            return bool(snapshot.status == "READY")

        self._poll(ready, timeout, what, "raise --snapshot-timeout")

    def _delete_failed(self, project: str, name: str) -> None:
        with _translated(f"deleting failed GCE snapshot {name}"):
            self._client("snapshots").delete_unary(project=project, snapshot=name)

    def _wait_operation(self, project: str, zone: str, operation: Any, what: str, timeout: float,
                        remedy: str) -> None:
        """Poll the zone (``regions/R``: region; none: global) operation until DONE; its error
        becomes a CloudError."""
        state = {"operation": operation}

        def done() -> bool:
            current = state["operation"]
            if current.status != _DONE:
                if zone.startswith("regions/"):
                    current = self._client("region_operations").get(
                        project=project, region=zone.removeprefix("regions/"), operation=current.name)
                elif zone:
                    current = self._client("zone_operations").get(project=project, zone=zone, operation=current.name)
                else:
                    current = self._client("global_operations").get(project=project, operation=current.name)
                state["operation"] = current
            if current.status != _DONE:
                return False
            if current.error.errors:
                reasons = "; ".join(f"{e.code}: {e.message}" for e in current.error.errors)
                raise CloudError(f"GCE failed {what}: {reasons}")
            return True

        self._poll(done, timeout, what, remedy)

    def _poll(self, done: Callable[[], bool], timeout: float, what: str, remedy: str) -> None:
        poll(done, timeout=timeout, interval=self.poll_interval, what=what,
             hint=f"Check it in GCE, or {remedy}.", translated=_translated)


def _found(what: str, lookup: Callable[[], Any], missing: CloudError) -> None:
    """Look ``what`` up; GCE's 404 raises ``missing``, any other error is translated as it is."""
    try:
        with _translated(f"looking up {what}"):
            lookup()
    except CloudError as exc:
        if not isinstance(exc.__cause__, api_exceptions.NotFound):
            raise
        raise missing from exc


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    try:
        yield
    except (api_exceptions.Unauthorized, api_exceptions.Forbidden, auth_exceptions.RefreshError) as exc:
        raise CloudCredentialsError(f"GCE refused the credentials while {doing}: {exc}",
                                    hint="Check the service account, its roles (compute.storageAdmin) "
                                         "and the project.") from exc
    except api_exceptions.GoogleAPICallError as exc:
        raise CloudError(f"GCE refused {doing}: {exc.code}: {exc.message}") from exc
    except (auth_exceptions.GoogleAuthError, requests.RequestException) as exc:
        raise CloudError(f"GCE failed while {doing}: {exc}",
                         hint="Check --gce-endpoint, and that GCE compute is reachable.") from exc
