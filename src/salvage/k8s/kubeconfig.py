"""Read a kubeconfig file into the connection settings one context needs."""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from salvage.model.errors import UsageError


@dataclass(frozen=True)
class Connection:
    server: str
    ca_file: str | None = None
    insecure: bool = False
    token: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    context: str = ""
    # The context's namespace: where namespaced commands act when no -n is given (as kubectl).
    namespace: str = "default"


def default_kubeconfig_path() -> str:
    env = os.environ.get("KUBECONFIG")
    if env:
        return env.split(os.pathsep)[0]
    return str(Path.home() / ".kube" / "config")


# Where a pod finds its ServiceAccount's credentials (every pod that mounts its token).
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster_connection(sa_dir: Path | None = None) -> Connection | None:
    """The pod's own connection (its ServiceAccount token, the cluster CA, the `kubernetes`
    Service from the environment), or None outside a pod."""
    sa_dir = sa_dir or SERVICE_ACCOUNT_DIR
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    token = sa_dir / "token"
    if not host or not token.exists():
        return None
    if ":" in host:
        host = f"[{host}]"
    namespace = sa_dir / "namespace"
    return Connection(
        server=f"https://{host}:{port}",
        ca_file=str(sa_dir / "ca.crt") if (sa_dir / "ca.crt").exists() else None,
        token=token.read_text().strip(),
        context="in-cluster",
        namespace=namespace.read_text().strip() if namespace.exists() else "default",
    )


def load_connection(path: str | None = None, context: str | None = None) -> Connection:
    """Connection settings for ``context`` (default: current-context) of the kubeconfig; in a
    pod with no kubeconfig given or found, the pod's ServiceAccount (as kubectl does)."""
    if path is None and not os.environ.get("KUBECONFIG") and not Path(default_kubeconfig_path()).exists():
        own = in_cluster_connection()
        if own is not None:
            return own
    path = path or os.environ.get("KUBECONFIG") or default_kubeconfig_path()
    config = _load(path)
    name = context or config.get("current-context")
    ctx = _named(config.get("contexts"), name)
    if ctx is None:
        raise UsageError(
            f"Context {name!r} is not in kubeconfig {path}.",
            hint="List the contexts with `kubectl config get-contexts`.",
        )
    cluster = _named(config.get("clusters"), ctx.get("cluster")) or {}
    user = _named(config.get("users"), ctx.get("user")) or {}
    if "server" not in cluster:
        raise UsageError(f"Cluster {ctx.get('cluster')!r} in kubeconfig {path} has no server address.")
    base = Path(path).parent
    return Connection(
        server=cluster["server"].rstrip("/"),
        ca_file=_file_or_data(cluster, "certificate-authority", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        token=user.get("token") or _read(user.get("tokenFile"), base),
        client_cert=_file_or_data(user, "client-certificate", base),
        client_key=_file_or_data(user, "client-key", base),
        context=str(name),
        namespace=str(ctx.get("namespace") or "default"),
    )


def _load(path: str) -> dict[str, Any]:
    """The kubeconfig at ``path``, or a list of them (``KUBECONFIG=a:b``) merged as kubectl
    merges them: the first file to name a cluster, user or context, or to set the current
    context, wins; missing files of a list are skipped. Relative file names in an entry stay
    relative to the file that holds it."""
    files = [p for p in path.split(os.pathsep) if p] if os.pathsep in path and not Path(path).exists() else [path]
    merged: dict[str, Any] = {"current-context": None, "clusters": [], "users": [], "contexts": []}
    found = False
    for file in files:
        try:
            config: dict[str, Any] = yaml.safe_load(Path(file).read_text()) or {}
        except FileNotFoundError:
            continue
        except yaml.YAMLError as exc:
            raise UsageError(f"Kubeconfig {file} is not valid YAML: {exc}") from exc
        found = True
        if not merged["current-context"]:
            merged["current-context"] = config.get("current-context")
        for key in ("clusters", "users", "contexts"):
            names = {entry.get("name") for entry in merged[key]}
            merged[key] += [_anchored(entry, Path(file).parent) for entry in config.get(key) or []
                            if entry.get("name") not in names]
    if not found:
        what = f"Kubeconfig {path} does not exist." if len(files) == 1 else \
            f"None of the kubeconfig files {', '.join(files)} exists."
        raise UsageError(what, hint="Pass --kubeconfig, set KUBECONFIG, or start a local cluster with "
                                    "`salvage dev cluster up`.")
    return merged


_FILE_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def _anchored(entry: dict[str, Any], base: Path) -> dict[str, Any]:
    """``entry`` with its file names made absolute against ``base`` (its kubeconfig's folder)."""
    out = dict(entry)
    for section in ("cluster", "user"):
        if isinstance(out.get(section), dict):
            out[section] = {k: str(base / v) if k in _FILE_KEYS and v else v for k, v in out[section].items()}
    return out


def _named(entries: list[dict[str, Any]] | None, name: str | None) -> dict[str, Any] | None:
    for entry in entries or []:
        if entry.get("name") == name:
            return dict(entry.get("context") or entry.get("cluster") or entry.get("user") or {})
    return None


def _file_or_data(section: dict[str, Any], key: str, base: Path) -> str | None:
    if section.get(key):
        return str(base / section[key])
    data = section.get(f"{key}-data")
    if not data:
        return None
    # httpx/ssl take file paths, so inline data is written to a private temp file.
    handle = tempfile.NamedTemporaryFile(prefix="salvage-kube-", suffix=".pem", delete=False)
    with handle:
        handle.write(base64.b64decode(data))
    os.chmod(handle.name, 0o600)
    return handle.name


def _read(path: str | None, base: Path) -> str | None:
    return (base / path).read_text().strip() if path else None
