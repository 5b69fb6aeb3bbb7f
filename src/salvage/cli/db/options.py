"""Options the ``db`` verbs share: which server, and how to log in."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.engines.database import DatabaseRef

Namespace = Annotated[str, typer.Option("--namespace", "-n", help="The database's namespace.")]
Pod = Annotated[str | None, typer.Option("--pod", help="The database's pod.")]
StatefulSet = Annotated[str | None, typer.Option("--statefulset", help="Its StatefulSet (its pod of ordinal 0).")]
Secret = Annotated[str | None, typer.Option(
    "--secret", help="Secret with the password: NAME[/KEY] (default: the pod's annotation "
                     "backup.salvage.io/database-secret; key: the only one, or `password`).")]
User = Annotated[str | None, typer.Option("--user", help="Database user (default: postgres, or the annotation).")]
Container = Annotated[str | None, typer.Option("--container", help="The server's container (default: the first).")]
Databases = Annotated[list[str] | None, typer.Option("--database", "-d", help="Only this database (repeatable).")]


def ref(namespace: str, pod: str | None, statefulset: str | None, secret: str | None, user: str | None,
        container: str | None) -> DatabaseRef:
    return DatabaseRef(namespace, pod=pod, statefulset=statefulset, secret=secret, user=user, container=container)
