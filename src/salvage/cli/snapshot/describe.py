"""``salvage snapshot describe``: one snapshot with its content, readiness, errors and events."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.snapshot.options import Namespace, open_client
from salvage.cli.snapshot.view import age
from salvage.engines.volume_snapshots import content_of, get_snapshot, snapshot_error
from salvage.k8s.events import events_for


def describe(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The snapshot to describe.")],
    namespace: Namespace = None,
) -> None:
    """Show a snapshot's source, content, size, readiness, age, errors and events.

    Examples:
      salvage snapshot describe nightly -n shop
    """
    app = app_of(ctx)
    client, ns = open_client(app, namespace)
    with client:
        snapshot = get_snapshot(client, ns, name)
        content = content_of(client, snapshot)
        events = events_for(client, ns, name)
    if app.output is not OutputFormat.table:
        items = [snapshot] + ([content] if content else [])
        app.terminal.data({"apiVersion": "v1", "kind": "List", "items": items})
        return
    for label, value in _fields(snapshot, content):
        app.terminal.line(f"{label + ':':<18}{value}")
    app.terminal.line("Events:" + ("" if events else "  <none>"))
    if events:
        app.terminal.table(("type", "reason", "age", "from", "message"), [
            [e.get("type"), e.get("reason"), age(e.get("lastTimestamp") or e.get("eventTime")),
             (e.get("source") or {}).get("component") or e.get("reportingComponent"), e.get("message")]
            for e in events
        ])


def _fields(snapshot: dict[str, Any], content: dict[str, Any] | None) -> list[tuple[str, str]]:
    meta, spec, status = snapshot["metadata"], snapshot.get("spec") or {}, snapshot.get("status") or {}
    source = spec.get("source") or {}
    content_spec = (content or {}).get("spec") or {}
    content_status = (content or {}).get("status") or {}
    created = status.get("creationTime")
    return [
        ("Name", meta["name"]),
        ("Namespace", meta["namespace"]),
        ("Source PVC", source.get("persistentVolumeClaimName") or f"(content {source.get('volumeSnapshotContentName')})"),
        ("Snapshot Class", spec.get("volumeSnapshotClassName") or "<none>"),
        ("Content", status.get("boundVolumeSnapshotContentName") or "<not bound yet>"),
        ("Driver", content_spec.get("driver") or "<unknown>"),
        ("Deletion Policy", content_spec.get("deletionPolicy") or "<unknown>"),
        ("Snapshot Handle", content_status.get("snapshotHandle") or "<none>"),
        ("Restore Size", str(status.get("restoreSize") or "<unknown>")),
        ("Ready To Use", str(bool(status.get("readyToUse"))).lower()),
        ("Creation Time", f"{created} ({age(created)} ago)" if created else "<not taken yet>"),
        ("Age", age(meta.get("creationTimestamp"))),
        ("Error", snapshot_error(snapshot) or "<none>"),
    ]
