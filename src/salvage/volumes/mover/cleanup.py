"""Remove mover pods and Secrets: one run's own when it ends, and those a killed run left.

Every temporary object carries ``salvage.io/temporary=true``, its run's id and an expiry
(``salvage.io/expires``: its start-up and run timeouts after it was made, when its run has
certainly given up on it); its pod also has ``activeDeadlineSeconds``, so the kubelet stops a
forgotten mover by itself. A mover pod also carries its run's heartbeat
(``salvage.io/heartbeat``, renewed every 10 s while the run watches it): a run killed
outright (SIGKILL, a lost machine, an operator pod deleted) stops renewing it. A later run
removes expired objects, and pods whose heartbeat is a minute old, before it starts its own;
their Secrets go with them (owner references).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError
from salvage.volumes.mover.manifests import (
    ANNOTATION_EXPIRES,
    ANNOTATION_HEARTBEAT,
    HEARTBEAT_STALE,
    LABEL_RUN,
    LABEL_TEMPORARY,
)

_KINDS = ("pods", "secrets")
_SWEPT = (*_KINDS, "persistentvolumeclaims")  # claims: --snapshot-move-data's temporary ones


def remove(client: KubeClient, namespace: str, name: str) -> None:
    """Delete a mover's pod at once and its Secret (best effort: each error is swallowed,
    as an expiry sweep catches what is left)."""
    for kind in _KINDS:
        try:
            client.delete_if_present(core(kind, namespace, name), gracePeriodSeconds=0)
        except KubernetesError:
            pass


def sweep(client: KubeClient, *, run_id: str | None = None, now: dt.datetime | None = None) -> list[str]:
    """Delete the temporary objects of run ``run_id``, or else every expired one; returns
    ``kind namespace/name`` of each deleted."""
    now = now or dt.datetime.now(dt.timezone.utc)
    selector = f"{LABEL_TEMPORARY}=true" + (f",{LABEL_RUN}={run_id}" if run_id else "")
    removed = []
    for kind in _SWEPT:
        try:
            items = list(client.list(core(kind), labelSelector=selector))
        except KubernetesError:
            continue  # no right to list them cluster-wide: nothing to sweep from here
        for obj in items:
            meta = obj["metadata"]
            if run_id is None and not _expired(meta, now, beats=kind == "pods"):
                continue
            path = core(kind, meta["namespace"], meta["name"])
            try:
                if client.delete_if_present(path, gracePeriodSeconds=0):
                    removed.append(f"{kind} {meta['namespace']}/{meta['name']}")
            except KubernetesError:
                pass
    return removed


def _expired(meta: dict[str, Any], now: dt.datetime, *, beats: bool) -> bool:
    """Past its expiry, or (a pod: only pods' heartbeats are renewed) unwatched for a minute."""
    annotations = meta.get("annotations") or {}
    expires = _time(annotations.get(ANNOTATION_EXPIRES))
    if expires is None:
        return True  # labelled temporary but not by a run that says until when: not ours to keep
    beat = _time(annotations.get(ANNOTATION_HEARTBEAT))
    if beats and beat is not None and (now - beat).total_seconds() >= HEARTBEAT_STALE:
        return True  # its run stopped watching it: killed
    return expires <= now


def _time(text: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
