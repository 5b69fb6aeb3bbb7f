"""The repository password kept in a Kubernetes Secret's key (``--password-secret``).

It lives here, not in ``repo/``, so the repository format knows nothing of Kubernetes:
``repo/password.py`` chooses among password sources, and this is the one that reads a Secret.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError, NotFoundError, SalvageError, UsageError
from salvage.repo.errors import PasswordMissingError, RepositoryError

SECRET_KEY = "password"
# [NAMESPACE/]NAME[:KEY]: a namespace is a DNS label, a Secret name a DNS subdomain, a key
# what Kubernetes allows in a Secret's data.
_SECRET_REF = re.compile(
    r"(?:(?P<namespace>[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)/)?"
    r"(?P<name>[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?)"
    r"(?::(?P<key>[-._a-zA-Z0-9]{1,253}))?"
)


@dataclass(frozen=True)
class SecretRef:
    """A key of a Kubernetes Secret; ``namespace`` None means the kubeconfig context's."""

    name: str
    key: str = SECRET_KEY
    namespace: str | None = None

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        match = _SECRET_REF.fullmatch(text)
        if match is None:
            raise UsageError(
                f"{text!r} does not name a Secret",
                hint="Write it as [NAMESPACE/]NAME[:KEY], e.g. backup/repo-password:password "
                f"(the key defaults to `{SECRET_KEY}`, the namespace to the kubeconfig context's).",
            )
        return cls(match["name"], match["key"] or SECRET_KEY, match["namespace"])


@dataclass(frozen=True)
class PasswordSecret:
    """The password in a Secret's key, read as raw JSON through ``connect()``'s client."""

    ref: SecretRef
    connect: Callable[[], KubeClient]

    @property
    def name(self) -> str:
        return self.ref.name

    def read(self) -> str:
        with self.connect() as client:
            namespace = self.ref.namespace or client.connection.namespace
            name, key = self.ref.name, self.ref.key
            where = f"Secret {namespace}/{name}"
            try:
                secret = client.get(core("secrets", namespace, name))
            except KubernetesError as exc:
                error = _secret_error(exc, where, self.ref, namespace)
                if error is None:
                    raise  # e.g. the cluster is unreachable: the client's message says so
                raise error from exc
        data: dict[str, str] = secret.get("data") or {}
        if key not in data:
            keys = ", ".join(sorted(data)) or "none"
            raise RepositoryError(
                f"{where} has no key {key!r} for the repository password (its keys: {keys})",
                hint=f"Name the key that holds it: --password-secret {namespace}/{name}:KEY.",
            )
        try:
            password = base64.b64decode(data[key], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise RepositoryError(f"key {key!r} of {where} is not UTF-8 text, so it is no password") from exc
        password = password.rstrip("\r\n")
        if not password:
            raise PasswordMissingError(
                f"key {key!r} of {where} is empty",
                hint=f"Put the password in it: kubectl -n {namespace} create secret generic {name} "
                f"--from-file={key}=PASSWORD_FILE --dry-run=client -o yaml | kubectl apply -f -",
            )
        return password


def _secret_error(exc: KubernetesError, where: str, ref: SecretRef, namespace: str) -> SalvageError | None:
    if exc.status == 404:
        return NotFoundError(
            f"{where} does not exist, so the repository password cannot be read from it",
            hint=f"Create it (kubectl -n {namespace} create secret generic {ref.name} "
            f"--from-file={ref.key}=PASSWORD_FILE), or check the name and --context.",
        )
    if exc.status in (401, 403):
        return RepositoryError(
            f"not allowed to read {where} (the repository password): {exc.message}",
            hint=f"Grant this kubeconfig's user `get` on it: a Role in {namespace} with resources [secrets], "
            f"resourceNames [{ref.name}], verbs [get], and a RoleBinding to the user.",
        )
    return None
