"""Options shared by several commands, parsed the same way everywhere."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from salvage.cli.context import App
from salvage.cli.kube import kube_client
from salvage.model.cloud import RegionSettings
from salvage.model.errors import UsageError
from salvage.repo.password import ENV_VAR as PASSWORD_ENV
from salvage.engines.password_secret import PasswordSecret, SecretRef
from salvage.repo.password import PasswordSource, password_source

Location = Annotated[str | None, typer.Option("--location", envvar="SALVAGE_LOCATION",
                                               help="Backup location name (default: `default`).")]


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


def parse_duration(value: str | None) -> int | None:
    """``720h``, ``30d``, ``90m``, ``45s`` (or combinations like ``1h30m``) in seconds."""
    if not value:
        return None
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([dhms])", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise UsageError(f"{value!r} is not a duration.", hint="Use e.g. 720h, 30d, 1h30m.")
    return sum(int(n) * units[u] for n, u in parts)


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


def region_settings(copy_to: str | None = None, copy_kms_key: str | None = None,
                    restore_region: str | None = None, zone_mappings: str | None = None) -> RegionSettings:
    """The cross-region options, the same for every cloud's settings."""
    return RegionSettings(copy_to=tuple(split_list(copy_to)), copy_kms_key=copy_kms_key,
                          restore_region=restore_region,
                          zone_map=tuple(parse_mappings(zone_mappings, "zone mapping").items()))
