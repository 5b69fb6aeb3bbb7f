"""``salvage backup create NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    AwsEndpointUrl, AwsRegion, AzureCaBundle, AzureCredentials, AzureEndpoint, AzureSubscription, ClusterName, CopyKmsKey, CopySnapshotsTo,
    DefaultVolumesToFsBackup, ExcludeNamespaces, ExcludeResources, GceCredentials, GceEndpoint, GceProject,
    IncludeClusterResources, IncludeNamespaces, IncludeResources, Location, MoverCpu, MoverImage, MoverMemory,
    MoverNodeSelector, MoverStartTimeout, MoverTimeout, ParallelVolumes, RepoPasswordFile, RepoPasswordSecret,
    Selector, SnapshotTimeout, SnapshotVolumes, Ttl, VolumeSnapshotProvider, backup_selection, mover_settings,
    parse_labels, region_settings, repo_password,
)
from salvage.cli.options import MoverPerNode
from salvage.cli.progress import ProgressView
from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.backup_objects import HandOffRequest, hand_off_backup
from salvage.locations import open_location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.durations import parse_duration
from salvage.model.errors import UsageError
from salvage.model.mover import DEFAULT_IMAGE


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Backup name (written once; never overwritten).")],
    include_namespaces: IncludeNamespaces = None,
    exclude_namespaces: ExcludeNamespaces = None,
    selector: Selector = None,
    include_resources: IncludeResources = None,
    exclude_resources: ExcludeResources = None,
    include_cluster_resources: IncludeClusterResources = "auto",
    snapshot_volumes: SnapshotVolumes = True,
    location: Location = None,
    ttl: Ttl = None,
    labels: Annotated[str | None, typer.Option("--labels", help="The backup's own labels, e.g. team=web (kept in "
                                                                 "its manifest; backup prune -l picks by them).")] = None,
    snapshot_timeout: SnapshotTimeout = 300.0,
    default_volumes_to_fs_backup: DefaultVolumesToFsBackup = False,
    snapshot_move_data: Annotated[bool, typer.Option(
        "--snapshot-move-data",
        help="Snapshot each CSI volume, copy the snapshot's files into the location's repository "
             "(a data-mover pod), then release the snapshot.")] = False,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for completion (the CLI always runs the backup to the end).")] = True,
    volume_snapshot_provider: VolumeSnapshotProvider = "auto",
    hand_off: Annotated[bool, typer.Option(
        "--async", help="Hand the backup to the operator (a Backup object in its namespace) and return; "
                        "follow it with `kubectl get backup NAME -n NAMESPACE`.")] = False,
    operator_namespace: Annotated[str, typer.Option(
        "--operator-namespace", envvar="SALVAGE_NAMESPACE", help="With --async: the operator's namespace.")] = "salvage",
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
    parallel_volumes: ParallelVolumes = 2,
    mover_image: MoverImage = DEFAULT_IMAGE,
    mover_node_selector: MoverNodeSelector = None,
    mover_cpu: MoverCpu = None,
    mover_memory: MoverMemory = "1Gi",
    mover_start_timeout: MoverStartTimeout = 120.0,
    mover_timeout: MoverTimeout = 3600.0,
    mover_per_node: MoverPerNode = 0,
    copy_snapshots_to: CopySnapshotsTo = None,
    copy_kms_key: CopyKmsKey = None,
) -> None:
    """Back up namespaces (raw objects) and snapshot their volumes; the manifest is written last.

    Examples:
      # Back up namespace wp with a CSI snapshot of each volume
      salvage backup create wp-nightly --include-namespaces wp

      # Everything labelled app=web, kept for 30 days, on another location
      salvage backup create web-0716 -l app=web --ttl 720h --location shared

      # Let the operator in the cluster run it
      salvage backup create wp-0716 --include-namespaces wp --async

      # Copy the volumes' files into the location's repository instead of snapshots
      salvage backup create nightly --include-namespaces wp \\
          --default-volumes-to-fs-backup --repo-password-secret backup/repo-password
    """
    app = app_of(ctx)
    regions = region_settings(copy_snapshots_to, copy_kms_key)
    request = BackupRequest(
        name=name,
        selection=backup_selection(include_namespaces, exclude_namespaces, include_resources, exclude_resources),
        selector=selector, cluster_resources=include_cluster_resources, snapshot_volumes=snapshot_volumes,
        ttl_seconds=parse_duration(ttl), snapshot_timeout=snapshot_timeout,
        default_volumes_to_fs=default_volumes_to_fs_backup,
        repo_password=None if hand_off else repo_password(app, repo_password_file, repo_password_secret),
        volume_snapshot_provider=volume_snapshot_provider,
        aws=AwsSettings(region=aws_region, endpoint_url=aws_endpoint_url, cluster_name=cluster_name,
                        regions=regions),
        gce=GceSettings(project=gce_project, endpoint=gce_endpoint, cluster_name=cluster_name,
                        credentials=gce_credentials, regions=regions),
        azure=AzureSettings(subscription_id=azure_subscription, endpoint=azure_endpoint, ca_bundle=azure_ca_bundle,
                            credentials=azure_credentials, cluster_name=cluster_name, regions=regions),
        labels=parse_labels(labels),
        snapshot_move_data=snapshot_move_data,
        mover=mover_settings(mover_image, mover_node_selector, mover_cpu, mover_memory, parallel_volumes,
                             mover_start_timeout, mover_timeout, mover_per_node),
    )
    if hand_off:
        local_only = (repo_password_file, aws_region, aws_endpoint_url, gce_project, gce_endpoint, gce_credentials,
                      azure_subscription, azure_endpoint, azure_ca_bundle, azure_credentials, snapshot_move_data,
                      copy_snapshots_to)
        if any(local_only):
            raise UsageError("--async hands the backup to the operator, which takes no password file or cloud "
                             "options from this machine.", hint="Drop them (the operator uses its own settings), "
                                                                "or leave out --async.")
        handed = HandOffRequest(request, operator_namespace, ttl=ttl, location=location,
                                password_secret=repo_password_secret)
        with kube_client(app) as client:
            hand_off_backup(client, handed)
        app.terminal.info(f"backup {name} handed to the operator in namespace {operator_namespace}")
        app.terminal.line(name)
        return
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
