"""``salvage schedule describe NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import OperatorNamespace
from salvage.cli.output import OutputFormat
from salvage.engines.schedule_objects import get_schedule, schedule_backups


def describe(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Schedule name.")],
    namespace: OperatorNamespace = "salvage",
) -> None:
    """A schedule's cron, template, retention and status, with the backups it made.

    Examples:
      salvage schedule describe nightly
    """
    app = app_of(ctx)
    with kube_client(app) as client:
        schedule = get_schedule(client, namespace, name)
        backups = schedule_backups(client, namespace, name)
    term = app.terminal
    if app.output is not OutputFormat.table:
        term.data({**schedule, "backups": backups})
        return
    spec, status = schedule["spec"], schedule.get("status") or {}
    retention = ", ".join(f"{k} {v}" for k, v in (spec.get("retention") or {}).items()) or "none (keep all)"
    term.line(f"Name:            {name}\nNamespace:       {namespace}\nSchedule:        {spec['schedule']} "
              f"({spec.get('timeZone') or 'UTC'})\nPaused:          {bool(spec.get('paused'))}\n"
              f"Concurrency:     {spec.get('concurrencyPolicy', 'Forbid')}\nRetention:       {retention}\n"
              f"Status:          {status.get('phase', '-')} {status.get('reason') or ''}\n"
              f"Last scheduled:  {status.get('lastScheduled', '-')}\n"
              f"Last successful: {status.get('lastSuccessful', '-')}\nNext run:        {status.get('nextRun') or '-'}\n"
              f"Missed runs:     {status.get('missedRuns', 0)}\nTemplate:        {spec.get('template') or {}}\n")
    term.line(f"Backups: {len(backups)}")
    term.table(["name", "phase", "items", "started", "completed"],
               [(b["metadata"]["name"], (b.get("status") or {}).get("phase", "New"),
                 (b.get("status") or {}).get("items", "-"), (b.get("status") or {}).get("started", "-"),
                 (b.get("status") or {}).get("completed", "-")) for b in backups])
