"""Where the repository password comes from. There is no default password, on purpose.

Sources, in order: a password file (``--password-file``) or a Kubernetes Secret
(``--password-secret``) — giving both is refused, as one would silently lose — and only
when neither is given, ``SALVAGE_REPO_PASSWORD``. A trailing newline is dropped from a
file's or a Secret's value (editors and ``echo`` add one; a password never ends in one).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from salvage.model.errors import KubernetesError, NotFoundError, SalvageError, UsageError
from salvage.repo.errors import PasswordMissingError, RepositoryError

if TYPE_CHECKING:
    from salvage.k8s.client import KubeClient

ENV_VAR = "SALVAGE_REPO_PASSWORD"
SECRET_KEY = "password"
# [NAMESPACE/]NAME[:KEY]: a namespace is a DNS label, a Secret name a DNS subdomain, a key
# what Kubernetes allows in a Secret's data.
_SECRET_REF = re.compile(
    r"(?:(?P<namespace>[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)/)?"
    r"(?P<name>[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?)"
    r"(?::(?P<key>[-._a-zA-Z0-9]{1,253}))?"
)


class PasswordSource(Protocol):
    def read(self) -> str: ...


@dataclass(frozen=True)
class PasswordFile:
    path: Path

    def read(self) -> str:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RepositoryError(
                f"cannot read the password file {self.path}: {exc.strerror}",
                hint="Check the path given to --password-file.",
            ) from exc
        # A trailing newline comes from editors and `echo`, never from intent.
        password = text.rstrip("\r\n")
        if not password:
            raise PasswordMissingError(f"the password file {self.path} is empty")
        return password


@dataclass(frozen=True)
class PasswordEnv:
    environ: Mapping[str, str]

    def read(self) -> str:
        password = self.environ.get(ENV_VAR, "")
        if not password:
            raise PasswordMissingError(f"{ENV_VAR} is empty")
        return password


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

    def read(self) -> str:
        with self.connect() as client:
            namespace = self.ref.namespace or client.connection.namespace
            name, key = self.ref.name, self.ref.key
            where = f"Secret {namespace}/{name}"
            try:
                secret = client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
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


def password_source(
    password_file: Path | None,
    environ: Mapping[str, str] | None = None,
    *,
    secret: PasswordSecret | None = None,
) -> PasswordSource:
    environ = os.environ if environ is None else environ
    if password_file is not None and secret is not None:
        raise UsageError(
            f"both a password file ({password_file}) and a password Secret ({secret.ref.name}) were given",
            hint="Give only one: --password-file or --password-secret (or their SALVAGE_REPO_PASSWORD_FILE "
            "and SALVAGE_REPO_PASSWORD_SECRET variables).",
        )
    if password_file is not None:
        return PasswordFile(password_file)
    if secret is not None:
        return secret
    if environ.get(ENV_VAR):
        return PasswordEnv(environ)
    raise PasswordMissingError(
        "no repository password given",
        hint=f"Pass --password-file FILE or --password-secret [NAMESPACE/]NAME[:KEY], or set {ENV_VAR}; "
        "Salvage has no default password.",
    )
