"""AWS EBS disks behind PersistentVolumes: snapshot for a backup, re-create from a snapshot.

The one module that talks to EC2 (boto3). botocore's errors become CloudError here, raised
``from`` the original. Every check that can fail (credentials, region, zone, volume type)
runs before the first call that creates something, so a refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.cloud_settings import AwsSettings
from salvage.model.errors import CloudCredentialsError, CloudError
from salvage.model.progress import VolumeState
from salvage.volumes.aws_ebs_spec import (
    METHOD,
    check_volume_type,
    is_ebs,
    persistent_volume_spec,
    region_of,
    volume_ref,
)
from salvage.volumes.base import JSON, Progress, claim_fields, copy_record, relocated
from salvage.volumes.cloud_polling import poll

TAG_PREFIX = "salvage.io/"


class EbsProvider:
    """Implements :class:`salvage.volumes.base.VolumeProvider` for EBS."""

    method = METHOD

    def __init__(self, settings: AwsSettings, *, poll_interval: float = 1.0,
                 clients: dict[str, Any] | None = None) -> None:
        """``clients``: EC2 clients by region made elsewhere (unit tests pass stubbed ones)."""
        self.settings = settings
        self.poll_interval = poll_interval
        self._session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id, aws_secret_access_key=settings.secret_access_key,
            region_name=settings.region)
        self._clients: dict[str, Any] = dict(clients or {})

    def owns(self, pv: JSON) -> bool:
        return is_ebs(pv)

    def presence(self, pv: JSON) -> str:
        """Whether the disk behind ``pv`` still exists: ``gone`` only on EC2's own word (no such
        volume, or deleted), ``present`` when EC2 lists it, ``unknown`` when EC2 cannot be asked."""
        name = pv.get("metadata", {}).get("name", "?")
        try:
            ref = volume_ref(pv)
            ec2 = self._client(self._region_for(ref.zone, f"PersistentVolume {name}"))
            volumes = ec2.describe_volumes(VolumeIds=[ref.volume_id])["Volumes"]
        except ClientError as exc:
            return "gone" if exc.response.get("Error", {}).get("Code") == "InvalidVolume.NotFound" else "unknown"
        except (CloudError, BotoCoreError):
            return "unknown"
        if not volumes or volumes[0].get("State") in ("deleting", "deleted"):
            return "gone"
        return "present"

    def check_access(self) -> None:
        """Fail early, before a backup writes anything, when no credentials can be found."""
        with _translated("looking up AWS credentials"):
            found = self._session.get_credentials()
        if found is None:
            raise _no_credentials()

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float, progress: Progress) -> VolumeRecord:
        ref = volume_ref(pv)
        label = f"{claim['metadata']['namespace']}/{claim['metadata']['name']}"
        region = self._region_for(ref.zone, f"PersistentVolume {pv['metadata']['name']}")
        ec2 = self._client(region)
        with _translated(f"reading EBS volume {ref.volume_id} of {label}"):
            [volume] = ec2.describe_volumes(VolumeIds=[ref.volume_id])["Volumes"]
        self._check_copy_regions(ec2, region)
        tags = {t["Key"]: t["Value"] for t in volume.get("Tags") or []}
        cluster = self.settings.cluster_name or _cluster_from_tags(tags)
        snapshot_tags = {"Name": f"{backup}/{label}", f"{TAG_PREFIX}backup": backup,
                         f"{TAG_PREFIX}namespace": claim["metadata"]["namespace"],
                         f"{TAG_PREFIX}pvc": claim["metadata"]["name"], f"{TAG_PREFIX}pv": pv["metadata"]["name"],
                         **({f"{TAG_PREFIX}cluster": cluster} if cluster else {})}
        with _translated(f"snapshotting EBS volume {ref.volume_id} of {label}"):
            snapshot = ec2.create_snapshot(
                VolumeId=ref.volume_id, Description=f"salvage backup {backup}: {label}",
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": _tag_list(snapshot_tags)}])
        self._wait_snapshot(ec2, snapshot["SnapshotId"], label, timeout, progress)
        copies = self._copy(snapshot["SnapshotId"], region, snapshot_tags, label, timeout, progress)
        record = claim_fields(
            claim, pv, METHOD, snapshotHandle=snapshot["SnapshotId"], restoreSize=int(volume["Size"]) << 30,
            region=region, availabilityZone=volume["AvailabilityZone"], volumeId=ref.volume_id,
            volumeType=volume["VolumeType"], sizeGiB=int(volume["Size"]), encrypted=bool(volume.get("Encrypted")),
            pvSource=ref.form, **({"copies": copies} if copies else {}))
        optional = {"iops": volume.get("Iops"), "throughput": volume.get("Throughput"),
                    "kmsKeyId": volume.get("KmsKeyId"), "fsType": ref.fs_type, "cluster": cluster}
        record.update({k: v for k, v in optional.items() if v})  # type: ignore[typeddict-item]
        return record

    def check_recreate(self, record: VolumeRecord) -> None:
        self._plan(record)

    def recreate(self, record: VolumeRecord, *, timeout: float, progress: Progress) -> JSON:
        ec2, zone, cluster, source = self._plan(record)
        label = f"{record['namespace']}/{record['pvc']}"
        snapshot_id = source["snapshotHandle"]
        args: dict[str, Any] = {"AvailabilityZone": zone, "SnapshotId": snapshot_id,
                                "VolumeType": record["volumeType"], "Size": record["sizeGiB"]}
        if record.get("iops") and record["volumeType"] in ("io1", "io2", "gp3"):
            args["Iops"] = record["iops"]
        if record.get("throughput") and record["volumeType"] == "gp3":
            args["Throughput"] = record["throughput"]
        if record.get("encrypted"):
            args["Encrypted"] = True
            if source.get("kmsKeyId"):  # a copy's key is its region's (a KMS key is regional)
                args["KmsKeyId"] = source["kmsKeyId"]
        # Without these tags the cluster's cloud provider ignores the volume (seed 000).
        tags = {"KubernetesCluster": cluster, f"kubernetes.io/cluster/{cluster}": "owned",
                "Name": f"{label} (salvage)", f"{TAG_PREFIX}namespace": record["namespace"],
                f"{TAG_PREFIX}pvc": record["pvc"], f"{TAG_PREFIX}from-snapshot": snapshot_id}
        progress(VolumeState(label, f"creating EBS volume in {zone} from {snapshot_id}"))
        with _translated(f"creating an EBS volume for {label} from {snapshot_id}"):
            volume = ec2.create_volume(**args, TagSpecifications=[{"ResourceType": "volume", "Tags": _tag_list(tags)}])
        self._wait_volume(ec2, volume["VolumeId"], label, timeout)
        progress(VolumeState(label, f"EBS volume {volume['VolumeId']} available"))
        return persistent_volume_spec(record, volume["VolumeId"], zone)

    def discard(self, pv_spec: JSON, record: VolumeRecord) -> None:
        volume_id = volume_ref({"metadata": {"name": record.get("pv", "?")}, "spec": pv_spec}).volume_id
        region, _, _ = relocated(record, self.settings.regions, record["region"], record.get("pvc", "?"))
        with _translated(f"deleting EBS volume {volume_id}"):
            self._client(region).delete_volume(VolumeId=volume_id)

    def delete_captured(self, record: VolumeRecord) -> bool:
        if record.get("method") != METHOD or not record.get("snapshotHandle"):
            return False
        for copy in record.get("copies") or []:  # the copies first: the original is the one to keep last
            self._delete_snapshot(copy["region"], copy["snapshotHandle"])
        return self._delete_snapshot(record["region"], record["snapshotHandle"])

    def _delete_snapshot(self, region: str, snapshot_id: str) -> bool:
        try:
            with _translated(f"deleting EBS snapshot {snapshot_id} in {region}"):
                self._client(region).delete_snapshot(SnapshotId=snapshot_id)
        except CloudError as exc:
            if "InvalidSnapshot.NotFound" in exc.message:
                return False
            raise
        return True

    def _check_copy_regions(self, ec2: Any, region: str) -> None:
        """Raise, before any snapshot is made, when a --copy-snapshots-to region is not EC2's."""
        wanted = [r for r in self.settings.regions.copy_to if r != region]
        if not wanted:
            return
        with _translated("listing EC2 regions"):
            known = {r["RegionName"] for r in ec2.describe_regions(AllRegions=True)["Regions"]}
        unknown = [r for r in wanted if r not in known]
        if unknown:
            raise CloudError(f"Cannot copy EBS snapshots to {', '.join(unknown)}: not an EC2 region; nothing "
                             "was changed.", hint="List regions with `aws ec2 describe-regions --all-regions`.")

    def _copy(self, snapshot_id: str, region: str, tags: dict[str, str], label: str, timeout: float,
              progress: Progress) -> list[JSON]:
        """Copy a completed snapshot into each --copy-snapshots-to region and wait for the copies.
        If one fails, the copies made so far and the original are deleted, so a failed backup
        leaves no snapshot behind."""
        copies: list[JSON] = []
        try:
            for target in (r for r in self.settings.regions.copy_to if r != region):
                ec2 = self._client(target)
                args: dict[str, Any] = {"SourceRegion": region, "SourceSnapshotId": snapshot_id,
                                        "Description": f"salvage copy of {snapshot_id} ({label}) from {region}"}
                if self.settings.regions.copy_kms_key:
                    args.update(Encrypted=True, KmsKeyId=self.settings.regions.copy_kms_key)
                progress(VolumeState(label, f"copying EBS snapshot {snapshot_id} to {target}"))
                with _translated(f"copying EBS snapshot {snapshot_id} of {label} to {target}"):
                    copied = ec2.copy_snapshot(**args, TagSpecifications=[{"ResourceType": "snapshot", "Tags": _tag_list(
                        {**tags, f"{TAG_PREFIX}copy-of": snapshot_id, f"{TAG_PREFIX}source-region": region})}])
                copies.append(copy_record(target, copied["SnapshotId"]))
                self._wait_snapshot(ec2, copied["SnapshotId"], label, timeout, progress)
                with _translated(f"reading EBS snapshot {copied['SnapshotId']} in {target}"):
                    [snap] = ec2.describe_snapshots(SnapshotIds=[copied["SnapshotId"]])["Snapshots"]
                copies[-1] = copy_record(target, copied["SnapshotId"], kmsKeyId=snap.get("KmsKeyId"))
        except CloudError:
            for made in reversed(copies):
                self._delete_snapshot(made["region"], made["snapshotHandle"])
            self._delete_snapshot(region, snapshot_id)
            raise
        return copies

    def _plan(self, record: VolumeRecord) -> tuple[Any, str, str, JSON]:
        """The client, zone, cluster name and snapshot (the original, or its copy in the
        --restore-region) for re-creating ``record``; raises on bad input."""
        label = f"{record.get('namespace')}/{record.get('pvc')}"
        snapshot_region, mapped, copy = relocated(record, self.settings.regions, record.get("region") or "", label)
        source: JSON = copy or {"region": snapshot_region, "snapshotHandle": record["snapshotHandle"],
                                "kmsKeyId": record.get("kmsKeyId")}
        zone = self.settings.availability_zone or mapped
        region = self._region_for(zone, f"the volume of {label}")
        if snapshot_region and snapshot_region != region:
            raise CloudError(f"The snapshot of {label} is in {snapshot_region}, not in {region} (zone {zone}); "
                             "EBS snapshots are regional.",
                             hint=f"Restore into a zone of {snapshot_region}, or pick a copy in {region} with "
                                  "--restore-region (backup create --copy-snapshots-to makes them).")
        cluster = self.settings.cluster_name or record.get("cluster")
        if not cluster:
            raise CloudError(f"No cluster name for the volume of {label}: the cluster ignores EBS volumes "
                             "without its KubernetesCluster tag.", hint="Pass --cluster-name.")
        check_volume_type(record)
        ec2 = self._client(region)
        with _translated(f"looking up availability zone {zone}"):
            zones = ec2.describe_availability_zones(Filters=[{"Name": "zone-name", "Values": [zone]}])
        if not zones["AvailabilityZones"]:
            raise CloudError(f"Availability zone {zone} does not exist in {region}.",
                             hint="List zones with `aws ec2 describe-availability-zones`; pick one with "
                                  "--availability-zone.")
        self._check_snapshot(ec2, source["snapshotHandle"], label)
        return ec2, zone, cluster, source

    def _check_snapshot(self, ec2: Any, snapshot_id: str, label: str) -> None:
        try:
            with _translated(f"looking up EBS snapshot {snapshot_id}"):
                [snap] = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
        except CloudError as exc:
            if "InvalidSnapshot.NotFound" not in exc.message:
                raise
            raise CloudError(f"EBS snapshot {snapshot_id} of {label} does not exist (deleted, or in another "
                             "region or account).", hint="Pick another backup with `salvage backup get`.") from exc
        if snap["State"] != "completed":
            raise CloudError(f"EBS snapshot {snapshot_id} of {label} is {snap['State']}, not completed: "
                             f"{snap.get('StateMessage') or 'no reason given'}.",
                             hint="Wait for it, or pick another backup.")

    def _region_for(self, zone: str | None, what: str) -> str:
        """The configured region; it must be the zone's when both are known."""
        configured = self._session.region_name
        zone_region = region_of(zone) if zone else None
        if configured and zone_region and configured != zone_region:
            raise CloudError(f"{what} is in zone {zone} (region {zone_region}), but the AWS region is {configured}.",
                             hint=f"Pass --aws-region {zone_region}, or unset AWS_REGION / the profile's region.")
        region = configured or zone_region
        if not region:
            raise CloudError(f"No AWS region for {what}: its zone is unknown and none is configured.",
                             hint="Pass --aws-region or set AWS_REGION.")
        return region

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            with _translated("connecting to EC2"):
                self._clients[region] = self._session.client(
                    "ec2", region_name=region, endpoint_url=self.settings.endpoint_url,
                    config=Config(retries={"max_attempts": 4, "mode": "standard"}))
        return self._clients[region]

    def _wait_snapshot(self, ec2: Any, snapshot_id: str, label: str, timeout: float, progress: Progress) -> None:
        def state() -> str | None:
            [snap] = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
            progress(VolumeState(label, f"EBS snapshot {snapshot_id} {snap.get('Progress') or '0%'}"))
            if snap["State"] == "error":
                with _translated(f"deleting failed EBS snapshot {snapshot_id}"):
                    ec2.delete_snapshot(SnapshotId=snapshot_id)
                raise CloudError(f"EBS snapshot {snapshot_id} of {label} failed: "
                                 f"{snap.get('StateMessage') or 'no reason given'}; it was deleted.",
                                 hint="Check the volume in the EC2 console and run the backup again.")
            return "done" if snap["State"] == "completed" else None

        self._poll(state, timeout, f"EBS snapshot {snapshot_id} of {label}", "raise --snapshot-timeout")

    def _wait_volume(self, ec2: Any, volume_id: str, label: str, timeout: float) -> None:
        def state() -> str | None:
            [volume] = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
            if volume["State"] == "error":
                raise CloudError(f"EBS volume {volume_id} for {label} failed to create.",
                                 hint="Check the snapshot and the zone in the EC2 console.")
            return "done" if volume["State"] in ("available", "in-use") else None

        self._poll(state, timeout, f"EBS volume {volume_id} for {label}", "raise --timeout")

    def _poll(self, done: Callable[[], str | None], timeout: float, what: str, remedy: str) -> None:
        poll(done, timeout=timeout, interval=self.poll_interval, what=what,
             hint=f"Check it in EC2, or {remedy}.", translated=_translated)


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise _no_credentials() from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in ("AuthFailure", "UnauthorizedOperation", "InvalidClientTokenId"):
            raise CloudCredentialsError(f"AWS refused the credentials while {doing}: {error.get('Message')}",
                                        hint="Check the access key, its permissions and the profile.") from exc
        raise CloudError(f"EC2 refused {doing}: {error.get('Code')}: {error.get('Message')}") from exc
    except BotoCoreError as exc:
        raise CloudError(f"EC2 failed while {doing}: {exc}",
                         hint="Check the region and --aws-endpoint-url, and that EC2 is reachable.") from exc


def _no_credentials() -> CloudCredentialsError:
    return CloudCredentialsError(
        "No AWS credentials were found (environment, ~/.aws, instance or pod role); nothing was changed.",
        hint="Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached.")


def _cluster_from_tags(tags: dict[str, str]) -> str | None:
    if tags.get("KubernetesCluster"):
        return tags["KubernetesCluster"]
    owned = [k.removeprefix("kubernetes.io/cluster/") for k in tags if k.startswith("kubernetes.io/cluster/")]
    return owned[0] if len(owned) == 1 else None


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]
