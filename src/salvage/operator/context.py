"""What every reconciler shares: the client, the operator's namespace and identity, and
the few things each one does to its objects (paths, status writes, locations, secrets)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from salvage.engines.password_secret import PasswordSecret, SecretRef
from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.locations import Location, open_location
from salvage.locations.config import LocationSpec, validate
from salvage.model.errors import KubernetesError, NotFoundError, SalvageError, UsageError
from salvage.operator.crds import collection, item
from salvage.operator.metrics import Metrics

JSON = dict[str, Any]


def now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_time(text: str | None) -> float | None:
    moment = parse_time(text)
    return moment.timestamp() if moment else None


def parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def run_state(obj: JSON, identity: str) -> str:
    """Where a run (Backup, Restore) stands for the operator ``identity``: "new" (to run),
    "orphaned" (InProgress under an operator that is gone: this one did not start it),
    "running" (this one runs it), or its finished phase."""
    status = obj.get("status") or {}
    phase = status.get("phase") or "New"
    if phase == "New":
        return "new"
    if phase == "InProgress":
        return "running" if status.get("operator") == identity else "orphaned"
    return str(phase)


def orphan_reason(obj: JSON, what: str) -> str:
    operator = (obj.get("status") or {}).get("operator")
    return f"the operator running it ({operator}) stopped before it finished; {what}"


@dataclass(frozen=True)
class OperatorContext:
    client: KubeClient
    namespace: str  # where its custom resources and Secrets live
    identity: str  # this process: written into the status of what it runs
    metrics: Metrics = field(default_factory=Metrics)
    # A running Backup's or Restore's status.progress is written at most this often.
    progress_seconds: float = 5.0

    def objects(self, plural: str) -> list[JSON]:
        return list(self.client.list(collection(plural, self.namespace)))

    def find(self, plural: str, name: str) -> JSON | None:
        return self.client.find(item(plural, self.namespace, name))

    def write_status(self, plural: str, obj: JSON, status: JSON) -> None:
        """Merge ``status`` into the object's status (through the status subresource)."""
        meta = obj["metadata"]
        status = {**status, "observedGeneration": meta.get("generation", 1)}
        self.client.patch(item(plural, meta.get("namespace") or self.namespace, meta["name"]) + "/status",
                          {"status": status})

    def fail(self, plural: str, obj: JSON, exc: SalvageError) -> None:
        """The run is Failed: the error (and its next step) is the reason."""
        reason = exc.message + (f" {exc.hint}" if exc.hint else "")
        self.write_status(plural, obj, {"phase": "Failed", "reason": reason, "errors": [reason],
                                        "completed": now_text()})

    def secret_data(self, name: str) -> dict[str, str]:
        try:
            secret = self.client.get(core("secrets", self.namespace, name))
        except KubernetesError as exc:
            if exc.status == 404:
                raise NotFoundError(f"Secret {self.namespace}/{name} does not exist.",
                                    hint=f"Create it in namespace {self.namespace}.") from exc
            raise
        return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}

    def repo_password(self, spec: JSON) -> str | None:
        ref = spec.get("repoPasswordSecret")
        if not ref:
            return None
        secret = PasswordSecret(SecretRef(ref["name"], ref["key"], self.namespace),
                                lambda: contextlib.nullcontext(self.client))  # type: ignore[arg-type,return-value]
        return secret.read()

    def location(self, name: str | None) -> Location:
        """The BackupLocation named, or the default one (marked default, else named `default`)."""
        return open_location(self.location_spec(self.backup_location(name)))

    def backup_location(self, name: str | None) -> JSON:
        if name:
            found = self.find("backuplocations", name)
            if found is None:
                raise NotFoundError(f"BackupLocation {self.namespace}/{name} does not exist.",
                                    hint=f"Create it, or name another in spec.location "
                                         f"(`kubectl get backuplocations -n {self.namespace}`).")
            return found
        every = self.objects("backuplocations")
        marked = [b for b in every if b["spec"].get("default")] or [b for b in every
                                                                    if b["metadata"]["name"] == "default"]
        if len(marked) != 1:
            what = "no" if not marked else "more than one"
            raise UsageError(f"There is {what} default BackupLocation in namespace {self.namespace}.",
                             hint="Mark exactly one with spec.default: true, or name one in spec.location.")
        return marked[0]

    def location_spec(self, obj: JSON) -> LocationSpec:
        spec = obj["spec"]
        secret = (spec.get("credentialsSecret") or {}).get("name")
        return validate(LocationSpec(
            name=obj["metadata"]["name"], provider=spec["provider"], bucket=spec["bucket"],
            prefix=spec.get("prefix", ""), endpoint=spec.get("endpoint"), region=spec.get("region"),
            access_mode=spec.get("accessMode", "ReadWrite"),
            credentials=self.secret_data(secret) if secret else {}))
