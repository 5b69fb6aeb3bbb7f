"""Options shared by several commands, parsed the same way everywhere."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from salvage.cli.context import App
from salvage.cli.kube import kube_client
from salvage.engines.selection import Selection
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings, RegionSettings
from salvage.model.errors import UsageError
from salvage.model.mover import DEFAULT_IMAGE, MoverSettings
from salvage.repo.password import ENV_VAR as PASSWORD_ENV
from salvage.engines.password_secret import PasswordSecret, SecretRef
from salvage.repo.password import PasswordSource, password_source

Location = Annotated[str | None, typer.Option("--location", envvar="SALVAGE_LOCATION",
                                               help="Backup location name (default: `default`).")]
# Where the operator's objects (Schedules, Backups, BackupLocations) live: `salvage install -n`.
OperatorNamespace = Annotated[str, typer.Option("--namespace", "-n", envvar="SALVAGE_NAMESPACE",
                                                help="The operator's namespace (its objects, Secrets, Lease).")]

# When the operator runs a Schedule or a Drill.
Cron = Annotated[str, typer.Option("--schedule", help="Cron: five fields, six with seconds first, or @daily and "
                                                      "the like.")]
CronTimeZone = Annotated[str, typer.Option("--time-zone", help="IANA time zone of the cron, e.g. Europe/Paris.")]
# A restore drill's checks: `drill run` runs them, `drill create` writes them into a Drill.
VerifyCommand = Annotated[str | None, typer.Option(
    "--verify-command", help="Run in each restored workload's pod once ready; the drill fails if it exits "
                             "non-zero, e.g. 'sh -c \"test -s /data/app.db\"'.")]
VerifyContainer = Annotated[str | None, typer.Option(
    "--verify-container", help="Container for --verify-command (default: the pod's only one).")]
VerifySelector = Annotated[str | None, typer.Option(
    "--verify-selector", help="Run --verify-command only in pods with these labels, e.g. app=db.")]


def split_list(value: str | None, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    if not value:
        return default
    return tuple(part.strip() for part in value.split(",") if part.strip())


def refuse_empty(param: typer.CallbackParam, value: Any) -> Any:
    """An include or exclude option given an empty value (often an unset shell variable:
    ``--include-namespaces "$NS"``) is refused, rather than read as "everything"."""
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if item is not None and not split_list(item):
            raise typer.BadParameter(
                "it is empty (an unset shell variable?); leave the option out, or give it a value.", param=param)
    return value


def parse_mappings(value: str | None, what: str) -> dict[str, str]:
    """``old:new,old2:new2`` into a dict, refusing malformed pairs."""
    out: dict[str, str] = {}
    for pair in split_list(value):
        old, sep, new = pair.partition(":")
        if not sep or not old or not new:
            raise UsageError(f"{what} {pair!r} is not OLD:NEW.", hint="Write it as old:new,old2:new2.")
        out[old] = new
    return out


_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def parse_labels(value: str | None) -> dict[str, str]:
    """``key=value,key2=value2`` (Kubernetes label syntax) into a dict."""
    out: dict[str, str] = {}
    for pair in split_list(value):
        key, sep, val = pair.partition("=")
        if not sep or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(val):
            raise UsageError(f"Label {pair!r} is not KEY=VALUE with a Kubernetes label key and value.",
                             hint="Write e.g. --labels team=web,salvage.io/schedule=nightly.")
        out[key] = val
    return out


# What a backup takes: `backup create` and `schedule create` (its template) share these.
IncludeNamespaces = Annotated[str | None, typer.Option("--include-namespaces", callback=refuse_empty, help="Namespaces to back up, comma-separated; globs allowed (default: all).")]
ExcludeNamespaces = Annotated[str | None, typer.Option("--exclude-namespaces", callback=refuse_empty, help="Namespaces to leave out, comma-separated; globs allowed.")]
Selector = Annotated[str | None, typer.Option("--selector", "-l", help="Only objects with these labels, e.g. app=web.")]
IncludeResources = Annotated[str | None, typer.Option("--include-resources", callback=refuse_empty, help="Resources to back up, e.g. configmaps,statefulsets.apps (default: all).")]
ExcludeResources = Annotated[str | None, typer.Option("--exclude-resources", callback=refuse_empty, help="Resources to leave out, e.g. events,pods.")]
IncludeClusterResources = Annotated[str, typer.Option("--include-cluster-resources", callback=refuse_empty, help="auto, true or false.")]
SnapshotVolumes = Annotated[bool, typer.Option("--snapshot-volumes/--no-snapshot-volumes", help="Capture the volumes' data; --no-snapshot-volumes backs up objects only.")]
Ttl = Annotated[str | None, typer.Option("--ttl", help="How long to keep it, e.g. 720h.")]
SnapshotTimeout = Annotated[float, typer.Option("--snapshot-timeout", help="Seconds to wait per volume snapshot.")]
DefaultVolumesToFsBackup = Annotated[bool, typer.Option(
    "--default-volumes-to-fs-backup",
    help="Copy volumes' files into the location's repository unless a claim or class annotation "
         "(backup.salvage.io/method) says snapshot.")]
VolumeSnapshotProvider = Annotated[str, typer.Option(
    "--volume-snapshot-provider", envvar="SALVAGE_VOLUME_SNAPSHOT_PROVIDER",
    help="auto (EBS disks through EC2, GCE PDs through GCE, Azure disks through ARM, others through "
         "CSI), csi, aws-ebs, gce-pd, or azure-disk.")]


def backup_selection(include_namespaces: str | None, exclude_namespaces: str | None, include_resources: str | None,
                     exclude_resources: str | None) -> Selection:
    return Selection(split_list(include_namespaces, ("*",)), split_list(exclude_namespaces),
                     split_list(include_resources, ("*",)), split_list(exclude_resources))


# Retention counts: `backup prune` and `schedule create` share these.
def _count(flag: str, what: str) -> Any:
    return typer.Option(flag, min=0, show_default=False, help=what)


KeepLast = Annotated[int | None, _count("--keep-last", "Keep the newest N Completed backups.")]
KeepHourly = Annotated[int | None, _count("--keep-hourly", "Keep the newest backup of each of the newest N "
                                                           "hours that have one.")]
KeepDaily = Annotated[int | None, _count("--keep-daily", "... of each of the newest N days.")]
KeepWeekly = Annotated[int | None, _count("--keep-weekly", "... of each of the newest N ISO weeks.")]
KeepMonthly = Annotated[int | None, _count("--keep-monthly", "... of each of the newest N months.")]
KeepYearly = Annotated[int | None, _count("--keep-yearly", "... of each of the newest N years.")]
KeepFloor = Annotated[int | None, _count("--keep-floor", "Never delete the newest N Completed backups, "
                                                         "whatever their age (default 1).")]


RepoPasswordFile = Annotated[Path | None, typer.Option(
    "--repo-password-file", help="File holding the repository password (or set SALVAGE_REPO_PASSWORD).")]
RepoPasswordSecret = Annotated[str | None, typer.Option(
    "--repo-password-secret", show_default=False,
    help="Kubernetes Secret holding the repository password: [NAMESPACE/]NAME[:KEY] "
         "(key default `password`, namespace default the context's).")]


def password_from(app: App, password_file: Path | None, password_secret: str | None) -> PasswordSource:
    """The password source the options name (docs: salvage.repo.password); a Secret is read
    through the command's kubeconfig and context."""
    secret = PasswordSecret(SecretRef.parse(password_secret), lambda: kube_client(app)) if password_secret else None
    return password_source(password_file, secret=secret)


def repo_password(app: App, password_file: Path | None, password_secret: str | None) -> str | None:
    """The repository password from --repo-password-file, --repo-password-secret or the
    environment, if given at all."""
    if password_file is None and password_secret is None and not os.environ.get(PASSWORD_ENV):
        return None
    return password_from(app, password_file, password_secret).read()


# Restoring file-level (fs) volumes: how much of the repository to check before the first
# change, and what to do with a half-done restore when damaged data stops it.
VerifyData = Annotated[bool, typer.Option(
    "--verify-data", help="Before any change, read every pack the fs volumes need and check it against its "
                          "name (else only their sizes and the directory trees).")]
KeepPartial = Annotated[bool, typer.Option(
    "--keep-partial", help="If damaged backup data stops the run, keep what it created (default: remove it).")]

# Cloud disks (volumes/aws_ebs.py): anything left out comes from the usual AWS chain.
AwsRegion = Annotated[str | None, typer.Option(
    "--aws-region", envvar="SALVAGE_AWS_REGION", help="AWS region (default: AWS_REGION, the profile, or the PV's zone).")]
AwsEndpointUrl = Annotated[str | None, typer.Option(
    "--aws-endpoint-url", envvar="SALVAGE_AWS_ENDPOINT_URL", help="EC2 endpoint (a test server or VPC endpoint).")]
ClusterName = Annotated[str | None, typer.Option(
    "--cluster-name", envvar="SALVAGE_CLUSTER_NAME",
    help="Cluster name for EBS tags (default: the original volume's KubernetesCluster tag).")]
# GCE PD (volumes/gce_pd.py): anything left out comes from the PV, the record or Google's ADC.
GceProject = Annotated[str | None, typer.Option(
    "--gce-project", envvar="SALVAGE_GCE_PROJECT",
    help="GCE project of the disks (default: the PV's volume handle, the backup's record, or the credentials').")]
GceEndpoint = Annotated[str | None, typer.Option(
    "--gce-endpoint", envvar="SALVAGE_GCE_ENDPOINT", help="GCE compute endpoint (a test server or private endpoint).")]
GceCredentials = Annotated[str | None, typer.Option(
    "--gce-credentials", envvar="SALVAGE_GCE_CREDENTIALS",
    help="A service account key file, or `anonymous` for a test server (default: Application Default Credentials).")]
# Azure Disk (volumes/azure_disk.py): anything left out comes from the disk's ID, the record or
# azure-identity's DefaultAzureCredential.
AzureSubscription = Annotated[str | None, typer.Option(
    "--azure-subscription", envvar="SALVAGE_AZURE_SUBSCRIPTION",
    help="Azure subscription of the disks (default: the disk's ID or the backup's record).")]
AzureResourceGroup = Annotated[str | None, typer.Option(
    "--azure-resource-group", envvar="SALVAGE_AZURE_RESOURCE_GROUP",
    help="Re-create Azure disks in this resource group (default: each disk's original).")]
AzureEndpoint = Annotated[str | None, typer.Option(
    "--azure-endpoint", envvar="SALVAGE_AZURE_ENDPOINT",
    help="Azure Resource Manager URL (a sovereign cloud or a test server).")]
AzureCaBundle = Annotated[str | None, typer.Option(
    "--azure-ca-bundle", envvar="SALVAGE_AZURE_CA_BUNDLE", help="CA file to trust for --azure-endpoint.")]
AzureCredentials = Annotated[str | None, typer.Option(
    "--azure-credentials", envvar="SALVAGE_AZURE_CREDENTIALS",
    help="`test-token` for a test server (default: DefaultAzureCredential: environment, workload or "
         "managed identity, Azure CLI).")]
AvailabilityZone = Annotated[str | None, typer.Option(
    "--availability-zone", envvar="SALVAGE_AVAILABILITY_ZONE",
    help="Re-create EBS disks in this zone (default: each disk's original zone).")]

# File-level (fs) volumes on a cluster: the data-mover pods (volumes/mover/, docs/data-mover.md).
MoverImage = Annotated[str, typer.Option(
    "--mover-image", envvar="SALVAGE_MOVER_IMAGE", help=f"Image of the data-mover pods (default: {DEFAULT_IMAGE}).")]
MoverNodeSelector = Annotated[str | None, typer.Option(
    "--mover-node-selector", help="Run data-mover pods only on nodes with these labels: k=v,k2=v2.")]
MoverCpu = Annotated[str | None, typer.Option("--mover-cpu", help="CPU limit of each data-mover pod, e.g. 1.")]
MoverMemory = Annotated[str, typer.Option("--mover-memory", help="Memory limit of each data-mover pod.")]
ParallelVolumes = Annotated[int, typer.Option(
    "--parallel-volumes", min=1, help="Volumes copied at once (data-mover pods).")]
MoverPerNode = Annotated[int, typer.Option(
    "--mover-per-node", min=0, help="Data-mover pods at once on one node, counting other backups' "
                                    "and restores' (0: no cap but --parallel-volumes).")]
MoverStartTimeout = Annotated[float, typer.Option(
    "--mover-start-timeout", help="Seconds a data-mover pod may take to start.")]
MoverTimeout = Annotated[float, typer.Option(
    "--mover-timeout", help="Seconds a data-mover pod may take to copy one volume.")]


def mover_settings(image: str, node_selector: str | None, cpu: str | None, memory: str, parallel: int,
                   start_timeout: float, timeout: float, per_node: int = 0) -> MoverSettings:
    selector = {}
    for pair in split_list(node_selector):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"Node selector {pair!r} is not KEY=VALUE.", hint="Write it as k=v,k2=v2.")
        selector[key] = value
    limits = {"memory": memory, **({"cpu": cpu} if cpu else {})}
    return MoverSettings(image=image, node_selector=selector, limits=limits, parallel_volumes=parallel,
                         start_timeout=start_timeout, run_timeout=timeout, per_node=per_node)


# Cross-region copies of cloud-disk snapshots (aws-ebs, gce-pd, azure-disk), for a lost region.
CopySnapshotsTo = Annotated[str | None, typer.Option(
    "--copy-snapshots-to", envvar="SALVAGE_COPY_SNAPSHOTS_TO", callback=refuse_empty,
    help="Also copy each cloud-disk snapshot into these regions, comma-separated (restore from a copy "
         "with --restore-region); deleted with the backup.")]
CopyKmsKey = Annotated[str | None, typer.Option(
    "--copy-kms-key", envvar="SALVAGE_COPY_KMS_KEY",
    help="Encrypt the copies with this KMS key of the copy's region (EBS default: that region's "
         "aws/ebs key; GCE: the disk's key).")]
RestoreRegion = Annotated[str | None, typer.Option(
    "--restore-region", envvar="SALVAGE_RESTORE_REGION",
    help="Re-create cloud disks in this region from the backup's snapshot copies there (made by "
         "--copy-snapshots-to), e.g. when the original region is lost; each disk goes into the same "
         "zone letter or number there unless --zone-mappings says otherwise.")]
ZoneMappings = Annotated[str | None, typer.Option(
    "--zone-mappings", envvar="SALVAGE_ZONE_MAPPINGS", callback=refuse_empty,
    help="Re-create a cloud disk of zone OLD in zone NEW: old:new,old2:new2, e.g. "
         "us-east-1b:us-west-2a.")]


def cloud_settings(params: dict[str, Any], regions: RegionSettings) -> tuple[AwsSettings, GceSettings, AzureSettings]:
    """The three clouds' settings from a verb's parsed options (``ctx.params``; an option the
    verb does not have is None), sharing its cross-region settings."""
    get = params.get
    return (AwsSettings(region=get("aws_region"), endpoint_url=get("aws_endpoint_url"),
                        cluster_name=get("cluster_name"), availability_zone=get("availability_zone"), regions=regions),
            GceSettings(project=get("gce_project"), endpoint=get("gce_endpoint"), cluster_name=get("cluster_name"),
                        credentials=get("gce_credentials"), regions=regions),
            AzureSettings(subscription_id=get("azure_subscription"), resource_group=get("azure_resource_group"),
                          endpoint=get("azure_endpoint"), ca_bundle=get("azure_ca_bundle"),
                          credentials=get("azure_credentials"), cluster_name=get("cluster_name"), regions=regions))


def region_settings(copy_to: str | None = None, copy_kms_key: str | None = None,
                    restore_region: str | None = None, zone_mappings: str | None = None) -> RegionSettings:
    """The cross-region options, the same for every cloud's settings."""
    return RegionSettings(copy_to=tuple(split_list(copy_to)), copy_kms_key=copy_kms_key,
                          restore_region=restore_region,
                          zone_map=tuple(parse_mappings(zone_mappings, "zone mapping").items()))
