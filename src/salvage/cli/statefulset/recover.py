"""``salvage statefulset recover STS -n NS --from-backup B | --from-snapshots S,... | --snapshot-selector L``."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from salvage.cli.context import App, app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    AvailabilityZone,
    AwsEndpointUrl,
    AwsRegion,
    AzureCaBundle,
    AzureCredentials,
    AzureEndpoint,
    AzureResourceGroup,
    AzureSubscription,
    ClusterName,
    GceCredentials,
    GceEndpoint,
    GceProject,
    KeepPartial,
    Location,
    RepoPasswordFile,
    RepoPasswordSecret,
    RestoreRegion,
    VerifyContainer,
    VerifyData,
    ZoneMappings,
    cloud_settings,
    region_settings,
    repo_password,
)
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.cli.statefulset.manifest import load_statefulset
from salvage.engines.statefulset.naming import format_ordinals, parse_ordinals
from salvage.engines.statefulset.recover import (
    RecoverFrom,
    RecoverReport,
    RecoverRequest,
    recover_statefulset,
    recovery_source,
)
from salvage.locations import open_location


def recover(
    ctx: typer.Context,
    statefulset: Annotated[str, typer.Argument(help="The StatefulSet to recover.")],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Its namespace (recovered into).")] = "default",
    from_backup: Annotated[str | None, typer.Option("--from-backup", help="The backup holding its volume "
                                                    "snapshots.")] = None,
    from_snapshots: Annotated[str | None, typer.Option(
        "--from-snapshots", help="VolumeSnapshots in the namespace, one per ordinal: snap-a,snap-b (in ordinal "
                                 "order) or CLAIM=SNAPSHOT,... (claims named <template>-<statefulset>-<ordinal>).")] = None,
    snapshot_selector: Annotated[str | None, typer.Option(
        "--snapshot-selector", help="Label selector for VolumeSnapshots in the namespace: the newest ready one "
                                    "of each claim is used.")] = None,
    backup_namespace: Annotated[str | None, typer.Option(
        "--backup-namespace", help="With --from-backup: the StatefulSet's namespace in the backup, when it is "
                                   "recovered into another (default: -n).")] = None,
    manifest: Annotated[Path | None, typer.Option("--manifest", help="Your own StatefulSet manifest, used "
                                                  "unchanged (default: the backup's, or the live one).")] = None,
    ordinals: Annotated[str | None, typer.Option("--ordinals", help="Only these ordinals, e.g. 0,2.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace claims whose volume cannot be proven gone "
                                        "(never one whose data exists).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for volumes and pods.")] = 300.0,
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
    restore_region: RestoreRegion = None,
    zone_mappings: ZoneMappings = None,
    verify_command: Annotated[str | None, typer.Option(
        "--verify-command", help="Run in each recovered pod once Running and show its output, "
                                 "e.g. \"tail -n 1 /data/log\".")] = None,
    verify_container: VerifyContainer = None,
) -> None:
    """Re-create a StatefulSet's volumes from a backup or VolumeSnapshots, then the StatefulSet, which adopts them.

    Examples:
      # The plan per claim, then the recovery from a backup
      salvage statefulset recover web -n shop --from-backup nightly --dry-run
      salvage statefulset recover web -n shop --from-backup nightly

      # Only the replica that lost its disk, from VolumeSnapshots picked by label
      salvage statefulset recover web -n shop --snapshot-selector app=web \\
          --ordinals 1
    """
    app = app_of(ctx)
    source = RecoverFrom(backup=from_backup, snapshots=from_snapshots, snapshot_selector=snapshot_selector,
                         backup_namespace=backup_namespace, verify_data=verify_data)
    source.check()
    aws, gce, azure = cloud_settings(ctx.params, region_settings(restore_region=restore_region,
                                                                  zone_mappings=zone_mappings))
    request = RecoverRequest(
        statefulset=statefulset, namespace=namespace,
        manifest=load_statefulset(manifest, statefulset) if manifest else None,
        ordinals=parse_ordinals(ordinals), force=force, dry_run=dry_run, timeout=timeout,
        verify_command=tuple(shlex.split(verify_command)) if verify_command else (),
        verify_container=verify_container, aws=aws, gce=gce, azure=azure, keep_partial=keep_partial)
    if from_backup:
        source = dataclasses.replace(source, repo_password=repo_password(app, repo_password_file,
                                                                         repo_password_secret))
    with kube_client(app) as client, ProgressView(app.terminal, f"recover {statefulset}") as view:
        chosen = recovery_source(client, source, request, lambda: open_location(location), view.update)
        report = recover_statefulset(client, chosen, request, view.update)
    _print(app, report)
    if report.phase == "VerificationFailed":
        raise typer.Exit(1)


def _print(app: App, report: RecoverReport) -> None:
    term, plan = app.terminal, report.plan
    if app.output is not OutputFormat.table:
        term.data(report.to_json())
        return
    head = f"Plan to recover StatefulSet {plan.namespace}/{plan.statefulset} from {plan.source}"
    term.line(head + (" (dry run: nothing changed)" if report.dry_run else ""))
    rows = [("StatefulSet", plan.statefulset, plan.statefulset_action, "", f"{plan.replicas} replica(s)")]
    if plan.service:
        rows.append(("Service", plan.service, "create", plan.source, "missing"))
    rows += [(f"claim (ordinal {s.ordinal})", s.claim, s.action.value, s.source if s.changes else "", s.reason)
             for s in plan.steps]
    term.table(["object", "name", "action", "from", "detail"], rows)
    if not report.dry_run:
        term.info(f"recovered {plan.namespace}/{plan.statefulset} (ordinals {format_ordinals(plan.ordinals)}) "
                  f"in {report.seconds:.1f}s; pods Running: {', '.join(report.pods)}")
    for warning in report.warnings:
        term.warn(warning)
    for check in report.verifications:
        term.line(f"verify {check['pod']}: {_verdict(check)}")
        for line in (check["stdout"] + check["stderr"]).splitlines():
            term.line(f"  {line}")


def _verdict(check: dict[str, Any]) -> str:
    if check["message"]:
        return f"FAILED ({check['message']})"
    return "ok" if check["exitCode"] == 0 else f"FAILED (exit {check['exitCode']})"
