"""``salvage restore create [NAME] --from-backup B``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    AvailabilityZone, AwsEndpointUrl, RestoreRegion, ZoneMappings, AwsRegion, AzureCaBundle, AzureCredentials, AzureEndpoint, AzureResourceGroup, AzureSubscription, ClusterName, GceCredentials, GceEndpoint, GceProject, KeepPartial, Location, RepoPasswordFile,
    MoverCpu, MoverImage, MoverMemory, MoverNodeSelector, MoverStartTimeout, MoverTimeout, ParallelVolumes,
    cloud_settings, mover_settings,
    RepoPasswordSecret, VerifyData, parse_mappings, refuse_empty, region_settings, repo_password, split_list,
)
from salvage.cli.options import MoverPerNode
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.engines.restore_records import restore_here, restore_name
from salvage.engines.backup_restore import ItemResult, RestoreReport, RestoreRequest
from salvage.engines.selection import Selection
from salvage.locations import open_location
from salvage.model.mover import DEFAULT_IMAGE
from salvage.model.errors import UsageError


def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Restore name (default: BACKUP-TIMESTAMP).")] = None,
    from_backup: Annotated[str, typer.Option("--from-backup", help="The backup to restore.")] = "",
    include_namespaces: Annotated[str | None, typer.Option("--include-namespaces", callback=refuse_empty, help="Namespaces to restore, comma-separated; globs allowed (default: all).")] = None,
    exclude_namespaces: Annotated[str | None, typer.Option("--exclude-namespaces", callback=refuse_empty, help="Namespaces to leave out, comma-separated; globs allowed.")] = None,
    include_resources: Annotated[str | None, typer.Option("--include-resources", callback=refuse_empty, help="Resources to restore, e.g. configmaps,statefulsets.apps (default: all).")] = None,
    exclude_resources: Annotated[str | None, typer.Option("--exclude-resources", callback=refuse_empty, help="Resources to leave out, e.g. events,pods.")] = None,
    selector: Annotated[str | None, typer.Option("--selector", "-l", help="Only objects with these labels, e.g. app=web.")] = None,
    namespace_mappings: Annotated[str | None, typer.Option("--namespace-mappings", help="Restore namespace OLD into NEW: old:new,old2:new2.")] = None,
    storage_class_mappings: Annotated[str | None, typer.Option("--storage-class-mappings", help="Give claims of class OLD the class NEW: old:new,...")] = None,
    existing_resource_policy: Annotated[str, typer.Option("--existing-resource-policy", help="An object that exists already: none (keep it, report it) or update (replace it).")] = "none",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for volumes and workloads to be ready.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for readiness.")] = 300.0,
    verify_data: VerifyData = False,
    keep_partial: KeepPartial = False,
    location: Location = None,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
    aws_region: AwsRegion = None,
    aws_endpoint_url: AwsEndpointUrl = None,
    cluster_name: ClusterName = None,
    availability_zone: AvailabilityZone = None,
    gce_project: GceProject = None,
    gce_endpoint: GceEndpoint = None,
    gce_credentials: GceCredentials = None,
    azure_subscription: AzureSubscription = None,
    azure_resource_group: AzureResourceGroup = None,
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
    restore_region: RestoreRegion = None,
    zone_mappings: ZoneMappings = None,
) -> None:
    """Verify a backup, then restore it: volumes from snapshots first, objects in dependency order.

    Examples:
      # The plan first (nothing changes), then the restore
      salvage restore create --from-backup wp-nightly --dry-run
      salvage restore create --from-backup wp-nightly

      # A copy beside the original, on another storage class
      salvage restore create --from-backup wp-nightly \\
          --namespace-mappings wp:wp-copy --storage-class-mappings gp2:gp3
    """
    app = app_of(ctx)
    if not from_backup:
        raise UsageError("Which backup? Pass --from-backup NAME.", hint="List backups with `salvage backup get`.")
    aws, gce, azure = cloud_settings(ctx.params, region_settings(restore_region=restore_region,
                                                                  zone_mappings=zone_mappings))
    request = RestoreRequest(
        name=restore_name(from_backup, name), backup=from_backup,
        selection=Selection(split_list(include_namespaces, ("*",)), split_list(exclude_namespaces),
                            split_list(include_resources, ("*",)), split_list(exclude_resources)),
        selector=selector, namespace_map=parse_mappings(namespace_mappings, "namespace mapping"),
        class_map=parse_mappings(storage_class_mappings, "storage class mapping"),
        existing_policy=existing_resource_policy, dry_run=dry_run, wait=wait, timeout=timeout,
        verify_data=verify_data, keep_partial=keep_partial,
        repo_password=repo_password(app, repo_password_file, repo_password_secret),
        aws=aws, gce=gce, azure=azure,
        mover=mover_settings(mover_image, mover_node_selector, mover_cpu, mover_memory, parallel_volumes,
                             mover_start_timeout, mover_timeout, mover_per_node),
    )
    target = open_location(location)
    with kube_client(app) as client, ProgressView(app.terminal, f"restore {request.name}") as view:
        done = restore_here(client, target, request, view.update)
    report = done.report
    _print(app, report, done.plan)
    if report.phase in ("PartiallyFailed", "Failed"):
        raise typer.Exit(1)


def _print(app, report: RestoreReport, plan: list[ItemResult]) -> None:  # type: ignore[no-untyped-def]
    term = app.terminal
    if app.output is not OutputFormat.table:
        term.data({**report.to_json(), **({"plan": [vars(i) for i in plan]} if report.dry_run else {})})
        return
    if report.dry_run:
        term.line(f"Plan for restore {report.name} of backup {report.backup} (dry run: nothing changed)")
        term.table(["resource", "namespace", "name", "action", "detail"],
                   [(i.resource, i.namespace or "", i.name, _planned_action(i.action, i.reason), i.reason)
                    for i in plan])
        return
    counts = ", ".join(f"{n} {a}" for a, n in sorted(report.counts.items()))
    term.info(f"restore {report.name} {report.phase}: {counts}")
    for item in report.failures:
        term.error(f"{item.resource} {item.namespace or ''}/{item.name}: {item.reason}")
    for error in report.errors:
        term.error(error)
    for warning in report.warnings:
        term.warn(warning)
    stopped_by = report.stopped_by or "damaged backup data"
    if report.removed:
        term.error(f"{stopped_by} stopped the restore; removed the {len(report.removed)} object(s) it had "
                   f"created: {', '.join(report.removed)}")
    if report.kept:
        term.warn(f"{stopped_by} stopped the restore; kept (--keep-partial) the {len(report.kept)} object(s) "
                  f"it had created: {', '.join(report.kept)}")
    if report.left:
        more = f" and {len(report.left) - 20} more" if len(report.left) > 20 else ""
        term.warn(f"the restore created and left in place {len(report.left)} object(s) beside what failed: "
                  f"{', '.join(report.left[:20])}{more}")
    term.line(report.name)


def _planned_action(action: str, reason: str) -> str:
    if action == "skipped" or reason == "exists: would be skipped":
        return "skip"
    return "update" if reason == "exists: would be updated" else "create"
