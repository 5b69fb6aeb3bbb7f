"""``salvage schedule get [NAME]``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import OperatorNamespace
from salvage.cli.output import OutputFormat
from salvage.engines.schedule_objects import get_schedule, list_schedules


def get(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Schedule name (default: all).")] = None,
    namespace: OperatorNamespace = "salvage",
) -> None:
    """List schedules: cron, time zone, paused, last and next run.

    Examples:
      salvage schedule get
      salvage schedule get nightly -o yaml
    """
    app = app_of(ctx)
    with kube_client(app) as client:
        schedules = [get_schedule(client, namespace, name)] if name else list_schedules(client, namespace)
    if app.output is not OutputFormat.table:
        app.terminal.data(schedules[0] if name else schedules)
        return
    rows = []
    for s in schedules:
        spec, status = s["spec"], s.get("status") or {}
        rows.append((s["metadata"]["name"], spec["schedule"], spec.get("timeZone") or "UTC",
                     status.get("phase", "-"), "yes" if spec.get("paused") else "no",
                     status.get("lastBackup", "-"), status.get("nextRun") or "-"))
    app.terminal.table(["name", "schedule", "time zone", "status", "paused", "last backup", "next run"], rows)
