"""Leader election on a coordination.k8s.io Lease: one holder at a time, taken over only
after the holder has not renewed for the lease's duration.

Expiry is judged as client-go judges it: by this candidate's own monotonic clock since it
first saw the holder's current renewTime, so clock skew between machines does not matter.
Every write carries the resourceVersion it read, so two candidates racing for a free
lease cannot both win: the API server refuses the second write (409)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError

JSON = dict[str, Any]
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # MicroTime


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LeaderElector:
    def __init__(self, client: KubeClient, namespace: str, name: str, identity: str, *,
                 lease_seconds: int = 15, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.client, self.identity, self.lease_seconds, self.clock = client, identity, lease_seconds, clock
        self.namespace, self.name = namespace, name
        self.collection = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self.path = f"{self.collection}/{name}"
        self._seen: tuple[tuple[Any, Any], float] | None = None  # (holder, renewTime), when first seen

    def try_acquire_or_renew(self) -> bool:
        """Whether this candidate holds the lease after the call (renewed, taken or created)."""
        now = self.clock()
        lease = self.client.find(self.path)
        try:
            if lease is None:
                return self.client.create_if_absent(self.collection, self._lease(now, now, transitions=0))
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") == self.identity:
                self._write(lease, self._lease(_parse(spec.get("acquireTime")) or now, now,
                                               spec.get("leaseTransitions", 0)))
                return True
            if not self._expired(spec, now):
                return False
            self._write(lease, self._lease(now, now, spec.get("leaseTransitions", 0) + 1))
            return True
        except KubernetesError as exc:
            if exc.status == 409:  # another candidate wrote first
                return False
            raise

    def release(self) -> None:
        """Give the lease up (on a clean stop), so a standby takes over at once."""
        lease = self.client.find(self.path)
        if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
            body = dict(lease, spec={**lease["spec"], "holderIdentity": None, "leaseDurationSeconds": 1})
            try:
                self.client.replace(self.path, body)
            except KubernetesError:
                pass

    def holder(self) -> str | None:
        lease = self.client.find(self.path)
        return ((lease or {}).get("spec") or {}).get("holderIdentity")

    def _expired(self, spec: JSON, now: dt.datetime) -> bool:
        if not spec.get("holderIdentity"):
            return True
        record = (spec.get("holderIdentity"), spec.get("renewTime"))
        if self._seen is None or self._seen[0] != record:
            self._seen = (record, time.monotonic())
        seconds = spec.get("leaseDurationSeconds") or self.lease_seconds
        return time.monotonic() > self._seen[1] + seconds

    def _write(self, current: JSON, body: JSON) -> None:
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self.client.replace(self.path, body)

    def _lease(self, acquired: dt.datetime, renewed: dt.datetime, transitions: int) -> JSON:
        return {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": self.lease_seconds,
                     "acquireTime": acquired.strftime(_FORMAT), "renewTime": renewed.strftime(_FORMAT),
                     "leaseTransitions": transitions},
        }


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
