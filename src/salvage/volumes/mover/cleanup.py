"""Remove mover pods and Secrets: one run's own when it ends, and those a killed run left.

Every temporary object carries ``salvage.io/temporary=true``, its run's id and an expiry
(``salvage.io/expires``: its start-up and run timeouts after it was made, when its run has
certainly given up on it); its pod also has ``activeDeadlineSeconds``, so the kubelet stops a
forgotten mover by itself. A later run removes expired objects before it starts its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError
from salvage.volumes.mover.manifests import ANNOTATION_EXPIRES, LABEL_RUN, LABEL_TEMPORARY

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
            if run_id is None and not _expired(meta, now):
                continue
            path = core(kind, meta["namespace"], meta["name"])
            try:
                if client.delete_if_present(path, gracePeriodSeconds=0):
                    removed.append(f"{kind} {meta['namespace']}/{meta['name']}")
            except KubernetesError:
                pass
    return removed


def _expired(meta: dict[str, Any], now: dt.datetime) -> bool:
    stamp = (meta.get("annotations") or {}).get(ANNOTATION_EXPIRES)
    if not stamp:
        return True  # labelled temporary but not by a run that says until when: not ours to keep
    try:
        expires = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return True
    return expires <= now
