"""Reading and changing Schedule objects, shared by the schedule verbs."""

from __future__ import annotations

from typing import Any

from salvage.k8s.client import KubeClient
from salvage.cli.custom_objects import not_installed
from salvage.engines.pruning import SCHEDULE_LABEL
from salvage.model.errors import KubernetesError, NotFoundError
from salvage.operator.crds import collection, item


def get_schedule(client: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    found = client.find(item("schedules", namespace, name))
    if found is None:
        raise NotFoundError(f"There is no Schedule {name!r} in namespace {namespace!r}.",
                            hint=f"List them with `salvage schedule get -n {namespace}`.")
    return found


def list_schedules(client: KubeClient, namespace: str) -> list[dict[str, Any]]:
    try:
        return list(client.list(collection("schedules", namespace)))
    except KubernetesError as exc:
        if exc.status == 404:
            raise not_installed("Schedule") from exc
        raise


def schedule_backups(client: KubeClient, namespace: str, name: str) -> list[dict[str, Any]]:
    """The Backup objects a schedule made, newest first."""
    backups = client.list(collection("backups", namespace), labelSelector=f"{SCHEDULE_LABEL}={name}")
    return sorted(backups, key=lambda b: b["metadata"]["creationTimestamp"], reverse=True)


def set_paused(client: KubeClient, namespace: str, name: str, paused: bool) -> None:
    get_schedule(client, namespace, name)
    client.patch(item("schedules", namespace, name), {"spec": {"paused": paused}})
