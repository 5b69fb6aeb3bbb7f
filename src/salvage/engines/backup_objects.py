"""Backup objects, the operator's side of a backup: a Backup's spec and the engine's
:class:`~salvage.engines.backup.BackupRequest` each made from the other (the operator runs
a spec; `backup create --async` and `schedule create` write one), and a backup handed to
the operator as a Backup object in its namespace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salvage.engines.backup import BackupRequest
from salvage.engines.custom_objects import create_object
from salvage.engines.password_secret import SecretRef
from salvage.engines.selection import Selection
from salvage.k8s.api_groups import SALVAGE_API_VERSION
from salvage.k8s.client import KubeClient
from salvage.model.durations import parse_duration
from salvage.model.errors import UsageError

JSON = dict[str, Any]


def backup_request(name: str, spec: JSON, repo_password: str | None,
                   labels: dict[str, str] | None = None) -> BackupRequest:
    """The engine's request for a Backup's spec (the options of `salvage backup create`);
    the object's labels go into the manifest (a schedule's name, for retention)."""
    return BackupRequest(
        name=name,
        selection=Selection(tuple(spec.get("includeNamespaces") or ("*",)), tuple(spec.get("excludeNamespaces") or ()),
                            tuple(spec.get("includeResources") or ("*",)), tuple(spec.get("excludeResources") or ())),
        selector=spec.get("labelSelector"),
        cluster_resources=spec.get("includeClusterResources", "auto"),
        snapshot_volumes=spec.get("snapshotVolumes", True),
        ttl_seconds=parse_duration(spec.get("ttl")),
        snapshot_timeout=float(spec.get("snapshotTimeoutSeconds", 300)),
        default_volumes_to_fs=spec.get("defaultVolumesToFsBackup", False),
        repo_password=repo_password,
        volume_snapshot_provider=spec.get("volumeSnapshotProvider", "auto"),
        snapshot_move_data=spec.get("snapshotMoveData", False),
        labels=dict(labels or {}),
    )


def backup_spec(request: BackupRequest, *, ttl: str | None = None, location: str | None = None,
                password_secret: tuple[str, str] | None = None) -> JSON:
    """A Backup's spec for ``request`` (the inverse of ``backup_request``): what `schedule
    create` puts in a Schedule's template. ``password_secret`` is (name, key)."""
    spec = {k: v for k, v in request.to_json().items() if v is not None and k != "ttlSeconds"}
    spec["snapshotTimeoutSeconds"] = int(request.snapshot_timeout)
    if ttl:
        spec["ttl"] = ttl
    if location:
        spec["location"] = location
    if password_secret:
        spec["repoPasswordSecret"] = {"name": password_secret[0], "key": password_secret[1]}
    return spec


def backup_object(name: str, spec: JSON, labels: dict[str, str] | None = None) -> JSON:
    """A Backup object for the operator to run."""
    return {"apiVersion": SALVAGE_API_VERSION, "kind": "Backup",
            "metadata": {"name": name, **({"labels": labels} if labels else {})}, "spec": spec}


@dataclass(frozen=True)
class HandOffRequest:
    """A backup for the operator to run instead of this process (`backup create --async`).
    Refused when made if the password Secret is in another namespace than the operator's."""

    backup: BackupRequest
    namespace: str  # the operator's
    ttl: str | None = None  # as written, e.g. 720h (the Backup's spec.ttl)
    location: str | None = None  # a BackupLocation's name (default: the operator's default one)
    password_secret: str | None = None  # [NAMESPACE/]NAME[:KEY], in the operator's namespace

    def __post_init__(self) -> None:
        self.secret()

    def secret(self) -> SecretRef | None:
        ref = SecretRef.parse(self.password_secret) if self.password_secret else None
        if ref and ref.namespace not in (None, self.namespace):
            raise UsageError(f"With --async the password Secret must be in the operator's namespace "
                             f"{self.namespace!r}.", hint=f"Write --repo-password-secret {ref.name}:{ref.key}.")
        return ref

    def body(self) -> JSON:
        ref = self.secret()
        spec = backup_spec(self.backup, ttl=self.ttl, location=self.location,
                           password_secret=(ref.name, ref.key) if ref else None)
        return backup_object(self.backup.name, spec, self.backup.labels)


def hand_off_backup(client: KubeClient, request: HandOffRequest) -> None:
    """Create the Backup object the operator runs; a name already taken is refused."""
    create_object(client, request.namespace, request.body(),
                  exists_hint="Backups are written once; choose another name.")
