"""``salvage backup describe NAME``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from salvage.catalog.reader import BackupReader, IncompleteBackupError, read_log
from salvage.cli.context import app_of
from salvage.cli.options import Location
from salvage.cli.output import OutputFormat
from salvage.engines.pruning import SCHEDULE_LABEL
from salvage.locations import open_location


def describe(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Backup name.")], location: Location = None) -> None:
    """Phase, objects per resource, volumes (method, size), warnings, errors, duration, size.

    Examples:
      salvage backup describe wp-nightly
      salvage backup describe wp-nightly --location shared -o yaml
    """
    app = app_of(ctx)
    target = open_location(location)
    term = app.terminal
    try:
        reader = BackupReader(target.store, name)
    except IncompleteBackupError as exc:
        term.line(f"Name:   {name}\nPhase:  Incomplete (no manifest)\nReason: {exc.message}")
        for line in read_log(target.store, name)[-20:]:
            term.line(f"  {line['time']} {line['level']}: {line['message']}")
        raise typer.Exit(1) from None
    m, result, volumes = reader.manifest, reader.result(), reader.volumes()
    data: dict[str, Any] = {
        "name": name, "location": target.name, "phase": m["phase"], "startedAt": m["startedAt"],
        "completedAt": m["completedAt"], "expiresAt": m["expiresAt"], "labels": m.get("labels") or {}, "durationSeconds": result.get("durationSeconds"),
        "storedBytes": reader.stored_bytes(), "cluster": m["cluster"], "spec": m["spec"],
        "resources": {(f"{r['resource']}.{r['group']}" if r["group"] else r["resource"]): r["count"]
                      for r in m["resources"]},
        "volumes": volumes, "warnings": result.get("warnings", []), "errors": result.get("errors", []),
    }
    if app.output is not OutputFormat.table:
        term.data(data)
        return
    term.line(f"Name:       {name}\nLocation:   {target.name}\nPhase:      {m['phase']}\n"
              f"Started:    {m['startedAt']}\nCompleted:  {m['completedAt']}\nDuration:   {data['durationSeconds']}s\n"
              f"Expires:    {m['expiresAt'] or '-'}\nStored:     {data['storedBytes']} bytes\n"
              f"Schedule:   {data['labels'].get(SCHEDULE_LABEL, '-')}\n"
              f"Cluster:    {m['cluster'].get('server')} ({m['cluster'].get('version')})\n")
    term.line("Resources:")
    term.table(["resource", "count"], sorted(data["resources"].items()))
    term.line("\nVolumes:")
    term.table(["namespace", "claim", "method", "size", "snapshot", "error"],
               [(v.get("namespace"), v.get("pvc"), v.get("method"), v.get("size"), v.get("snapshotHandle", "-"),
                 v.get("error", "")) for v in volumes])
    for title, lines in (("Warnings", data["warnings"]), ("Errors", data["errors"])):
        term.line(f"\n{title}: {len(lines)}")
        for line in lines:
            term.line(f"  {line}")
