"""``salvage install`` and ``salvage uninstall``: the operator in a cluster."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import OperatorNamespace
from salvage.cli.output import OutputFormat


def install(
    ctx: typer.Context,
    namespace: OperatorNamespace = "salvage",
    image: Annotated[str | None, typer.Option("--image", help="The operator's image (default: "
                                                              "salvage.local/salvage:VERSION).")] = None,
    host_path: Annotated[list[str] | None, typer.Option(
        "--host-path", help="A node directory mounted at the same path in the operator's pod, for a "
                            "filesystem BackupLocation; repeatable.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the manifests (-o yaml for GitOps); "
                                                            "change nothing.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the operator to be ready "
                                                       "(0: do not wait).")] = 120.0,
) -> None:
    """Install the operator: CRDs, namespace, ServiceAccount, least-privilege roles, Deployment, metrics Service.

    Examples:
      # The manifests, for GitOps or review
      salvage install --dry-run -o yaml > salvage.yaml

      # Install, with a node directory for a filesystem BackupLocation
      salvage install --host-path /var/lib/salvage-backups
    """
    from salvage.operator.install import IMAGE, install as apply_all, manifests, wait_ready
    from salvage.operator.manifests import render_yaml

    app = app_of(ctx)
    objects = manifests(namespace, image=image or IMAGE, host_paths=tuple(host_path or ()))
    term = app.terminal
    if dry_run:
        if app.output is OutputFormat.yaml:
            term.raw(render_yaml(objects))
        elif app.output is OutputFormat.json:
            term.data({"apiVersion": "v1", "kind": "List", "items": objects})
        else:
            term.table(["kind", "namespace", "name"],
                       [(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects])
        return
    with kube_client(app) as client:
        for obj, result in apply_all(client, objects):
            term.line(f"{obj['kind'].lower()}/{obj['metadata']['name']} {result}")
        if wait:
            wait_ready(client, namespace, wait)
            term.info(f"the operator is running in namespace {namespace}; add a BackupLocation there")


def uninstall(
    ctx: typer.Context,
    namespace: OperatorNamespace = "salvage",
    delete_crds: Annotated[bool, typer.Option("--delete-crds", help="Also remove the CRDs, and with them every "
                                                                     "Backup, Restore, Schedule and BackupLocation "
                                                                     "object (never the backups' data).")] = False,
    delete_namespace: Annotated[bool, typer.Option("--delete-namespace", help="Also remove the namespace, with "
                                                                               "its Secrets.")] = False,
) -> None:
    """Remove the operator; CRDs, their objects and the namespace stay unless asked, backups always stay.

    Examples:
      salvage uninstall
      salvage uninstall --delete-crds --delete-namespace
    """
    from salvage.operator.install import uninstall as remove_all

    app = app_of(ctx)
    with kube_client(app) as client:
        for obj, deleted in remove_all(client, namespace, delete_crds=delete_crds, delete_namespace=delete_namespace):
            app.terminal.line(f"{obj['kind'].lower()}/{obj['metadata']['name']} "
                              f"{'deleted' if deleted else 'not found'}")
