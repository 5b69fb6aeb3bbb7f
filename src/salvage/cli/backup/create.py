"""``salvage backup create NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    AwsEndpointUrl, AwsRegion, CopyKmsKey, CopySnapshotsTo, AzureCaBundle, AzureCredentials, AzureEndpoint, AzureSubscription, ClusterName, GceCredentials, GceEndpoint, GceProject, Location, RepoPasswordFile,
    RepoPasswordSecret, parse_duration, region_settings, parse_labels, refuse_empty, repo_password, split_list,
)
from salvage.cli.progress import ProgressView
from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.selection import Selection
from salvage.locations import open_location
from salvage.model.cloud import AwsSettings, AzureSettings, GceSettings


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Backup name (written once; never overwritten).")],
    include_namespaces: Annotated[str | None, typer.Option("--include-namespaces", callback=refuse_empty, help="Namespaces to back up, comma-separated; globs allowed (default: all).")] = None,
    exclude_namespaces: Annotated[str | None, typer.Option("--exclude-namespaces", callback=refuse_empty, help="Namespaces to leave out, comma-separated; globs allowed.")] = None,
    selector: Annotated[str | None, typer.Option("--selector", "-l", help="Only objects with these labels, e.g. app=web.")] = None,
    include_resources: Annotated[str | None, typer.Option("--include-resources", callback=refuse_empty, help="Resources to back up, e.g. configmaps,statefulsets.apps (default: all).")] = None,
    exclude_resources: Annotated[str | None, typer.Option("--exclude-resources", callback=refuse_empty, help="Resources to leave out, e.g. events,pods.")] = None,
    include_cluster_resources: Annotated[str, typer.Option("--include-cluster-resources", callback=refuse_empty, help="auto, true or false.")] = "auto",
    snapshot_volumes: Annotated[bool, typer.Option("--snapshot-volumes/--no-snapshot-volumes", help="Capture the volumes' data; --no-snapshot-volumes backs up objects only.")] = True,
    location: Location = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="How long to keep it, e.g. 720h.")] = None,
    labels: Annotated[str | None, typer.Option("--labels", help="The backup's own labels, e.g. team=web (kept in "
                                                                 "its manifest; backup prune -l picks by them).")] = None,
    snapshot_timeout: Annotated[float, typer.Option("--snapshot-timeout", help="Seconds to wait per volume snapshot.")] = 300.0,
    default_volumes_to_fs_backup: Annotated[bool, typer.Option(
        "--default-volumes-to-fs-backup",
        help="Copy volumes' files into the location's repository unless a claim or class annotation "
             "(backup.salvage.io/method) says snapshot.")] = False,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for completion (the CLI always runs the backup to the end).")] = True,
    volume_snapshot_provider: Annotated[str, typer.Option(
        "--volume-snapshot-provider", envvar="SALVAGE_VOLUME_SNAPSHOT_PROVIDER",
        help="auto (EBS disks through EC2, GCE PDs through GCE, Azure disks through ARM, others through "
             "CSI), csi, aws-ebs, gce-pd, or azure-disk.")] = "auto",
    aws_region: AwsRegion = None,
    aws_endpoint_url: AwsEndpointUrl = None,
    cluster_name: ClusterName = None,
    gce_project: GceProject = None,
    gce_endpoint: GceEndpoint = None,
    gce_credentials: GceCredentials = None,
    azure_subscription: AzureSubscription = None,
    azure_endpoint: AzureEndpoint = None,
    azure_ca_bundle: AzureCaBundle = None,
    azure_credentials: AzureCredentials = None,
    copy_snapshots_to: CopySnapshotsTo = None,
    copy_kms_key: CopyKmsKey = None,
) -> None:
    """Back up namespaces (raw objects) and snapshot their volumes; the manifest is written last.

    Examples:
      # Back up namespace wp with a CSI snapshot of each volume
      salvage backup create wp-nightly --include-namespaces wp

      # Everything labelled app=web, kept for 30 days, on another location
      salvage backup create web-0716 -l app=web --ttl 720h --location shared

      # Copy the volumes' files into the location's repository instead of snapshots
      salvage backup create nightly --include-namespaces wp \\
          --default-volumes-to-fs-backup --repo-password-secret backup/repo-password
    """
    app = app_of(ctx)
    regions = region_settings(copy_snapshots_to, copy_kms_key)
    request = BackupRequest(
        name=name,
        selection=Selection(split_list(include_namespaces, ("*",)), split_list(exclude_namespaces),
                            split_list(include_resources, ("*",)), split_list(exclude_resources)),
        selector=selector, cluster_resources=include_cluster_resources, snapshot_volumes=snapshot_volumes,
        ttl_seconds=parse_duration(ttl), snapshot_timeout=snapshot_timeout,
        default_volumes_to_fs=default_volumes_to_fs_backup,
        repo_password=repo_password(app, repo_password_file, repo_password_secret),
        volume_snapshot_provider=volume_snapshot_provider,
        aws=AwsSettings(region=aws_region, endpoint_url=aws_endpoint_url, cluster_name=cluster_name,
                        regions=regions),
        gce=GceSettings(project=gce_project, endpoint=gce_endpoint, cluster_name=cluster_name,
                        credentials=gce_credentials, regions=regions),
        azure=AzureSettings(subscription_id=azure_subscription, endpoint=azure_endpoint, ca_bundle=azure_ca_bundle,
                            credentials=azure_credentials, cluster_name=cluster_name, regions=regions),
        labels=parse_labels(labels),
    )
    target = open_location(location)
    with kube_client(app) as client, ProgressView(app.terminal, f"backup {name}") as view:
        outcome = create_backup(client, target, request, view.update)
    term = app.terminal
    term.info(f"backup {name} {outcome.phase}: {outcome.items} objects, {len(outcome.volumes)} volume(s), "
              f"{outcome.bytes_written} bytes in {outcome.seconds:.1f}s on location {target.name}")
    for warning in outcome.warnings:
        term.warn(warning)
    for error in outcome.errors:
        term.error(error)
    term.line(name)
    if outcome.phase != "Completed":
        term.error(f"Backup {name} is {outcome.phase}.", f"See `salvage backup describe {name}`.")
        raise typer.Exit(1)
