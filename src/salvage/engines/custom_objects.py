"""Creating the operator's objects (a Backup handed to it, a Schedule, a Drill) from any
front door, with the errors a user can act on."""

from __future__ import annotations

from typing import Any

from salvage.k8s.api_groups import SALVAGE_PLURALS, core, salvage
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError, UsageError


def not_installed(kind: str) -> UsageError:
    return UsageError(f"This cluster has no {kind} resource (the operator's CRDs are not installed).",
                      hint="Install the operator with `salvage install`.")


def create_object(client: KubeClient, namespace: str, body: dict[str, Any], *, exists_hint: str) -> None:
    kind, name = body["kind"], body["metadata"]["name"]
    try:
        client.create(salvage(SALVAGE_PLURALS[kind], namespace), body)
    except KubernetesError as exc:
        if exc.status == 409:
            raise UsageError(f"A {kind} named {name!r} already exists in namespace {namespace!r}.",
                             hint=exists_hint) from exc
        if exc.status == 404:
            if not client.exists(core("namespaces", None, namespace)):
                raise UsageError(f"Namespace {namespace!r} does not exist, so {kind} {name!r} was not created.",
                                 hint="Pass the operator's namespace with -n (where `salvage install` put it; "
                                      "default salvage), or install the operator there with `salvage install -n "
                                      f"{namespace}`.") from exc
            raise not_installed(kind) from exc
        raise
