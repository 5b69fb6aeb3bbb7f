"""Schedule objects, run by the operator: a typed :class:`ScheduleRequest` (checked when
made: cron, time zone, concurrency policy, retention) written as a Schedule, and the
Schedules and their Backup objects read, paused and deleted, for every front door."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from salvage.engines import cron
from salvage.engines.backup import BackupRequest
from salvage.engines.backup_objects import backup_spec
from salvage.engines.backup_retention import RetentionPolicy
from salvage.engines.custom_objects import create_object, not_installed
from salvage.engines.password_secret import SecretRef
from salvage.engines.pruning import SCHEDULE_LABEL
from salvage.k8s.api_groups import SALVAGE_API_VERSION, salvage
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError, NotFoundError, UsageError

JSON = dict[str, Any]
CONCURRENCY_POLICIES = ("Forbid", "Allow")


def retention_policy(spec: JSON) -> RetentionPolicy | None:
    """A Schedule's retention (its spec's ``retention`` counts, in its time zone), or None
    when it has none (its backups are kept)."""
    retention = spec.get("retention")
    if not retention:
        return None
    return RetentionPolicy(
        keep_last=retention.get("keepLast", 0), hourly=retention.get("hourly", 0),
        daily=retention.get("daily", 0), weekly=retention.get("weekly", 0), monthly=retention.get("monthly", 0),
        yearly=retention.get("yearly", 0), floor_completed=retention.get("floorCompleted", 1),
        time_zone=spec.get("timeZone") or "UTC")


@dataclass(frozen=True)
class ScheduleRequest:
    """A Schedule: a backup of ``template`` at each firing of ``cron`` in ``time_zone``."""

    name: str
    cron: str
    template: BackupRequest  # what each backup takes (the backups are NAME-YYYYMMDDHHMMSS)
    time_zone: str = "UTC"
    paused: bool = False
    concurrency_policy: str = "Forbid"  # Forbid: no run while a backup of it runs; Allow
    # the spec's retention counts given (keepLast, hourly, daily, weekly, monthly, yearly,
    # floorCompleted); none: every backup is kept
    retention: dict[str, int] = field(default_factory=dict)
    ttl: str | None = None  # the template's, as written (e.g. 720h)
    location: str | None = None  # a BackupLocation's name
    password_secret: str | None = None  # NAME[:KEY] in the operator's namespace

    def __post_init__(self) -> None:
        if self.concurrency_policy not in CONCURRENCY_POLICIES:
            raise UsageError(f"--concurrency-policy {self.concurrency_policy!r} must be Forbid or Allow.")
        cron.validate(self.cron, self.time_zone)
        retention_policy({"retention": self.retention, "timeZone": self.time_zone})  # refuses bad counts
        self.secret()

    def secret(self) -> SecretRef | None:
        return SecretRef.parse(self.password_secret) if self.password_secret else None

    def body(self) -> JSON:
        ref = self.secret()
        spec: JSON = {"schedule": self.cron, "timeZone": self.time_zone, "paused": self.paused,
                      "concurrencyPolicy": self.concurrency_policy,
                      "template": backup_spec(self.template, ttl=self.ttl, location=self.location,
                                              password_secret=(ref.name, ref.key) if ref else None)}
        if self.retention:
            spec["retention"] = dict(self.retention)
        return {"apiVersion": SALVAGE_API_VERSION, "kind": "Schedule", "metadata": {"name": self.name}, "spec": spec}


def create_schedule(client: KubeClient, namespace: str, request: ScheduleRequest) -> None:
    """Write the Schedule; a name already taken is refused."""
    create_object(client, namespace, request.body(),
                  exists_hint=f"Delete it first (`salvage schedule delete {request.name}`), or choose another name.")


def get_schedule(client: KubeClient, namespace: str, name: str) -> JSON:
    found = client.find(salvage("schedules", namespace, name))
    if found is None:
        raise NotFoundError(f"There is no Schedule {name!r} in namespace {namespace!r}.",
                            hint=f"List them with `salvage schedule get -n {namespace}`.")
    return found


def list_schedules(client: KubeClient, namespace: str) -> list[JSON]:
    try:
        return list(client.list(salvage("schedules", namespace)))
    except KubernetesError as exc:
        if exc.status == 404:
            raise not_installed("Schedule") from exc
        raise


def schedule_backups(client: KubeClient, namespace: str, name: str) -> list[JSON]:
    """The Backup objects a schedule made, newest first."""
    backups = client.list(salvage("backups", namespace), labelSelector=f"{SCHEDULE_LABEL}={name}")
    return sorted(backups, key=lambda b: b["metadata"]["creationTimestamp"], reverse=True)


def set_paused(client: KubeClient, namespace: str, name: str, paused: bool) -> None:
    get_schedule(client, namespace, name)
    client.patch(salvage("schedules", namespace, name), {"spec": {"paused": paused}})


def delete_schedule(client: KubeClient, namespace: str, name: str) -> None:
    """Delete a Schedule (named in the error if there is none); the backups it made stay."""
    get_schedule(client, namespace, name)
    client.delete(salvage("schedules", namespace, name))
