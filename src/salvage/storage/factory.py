"""Open a store from a small config record, or from a URL-ish string given on the command line.

URL forms (``--repo``):

- ``/some/dir``, ``./dir`` or ``file:///some/dir`` — a local directory;
- ``memory://`` — a fresh in-memory store (tests, demos);
- ``s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1``;
- ``az://container/prefix?account=devstoreaccount1&endpoint=http://127.0.0.1:10000/devstoreaccount1``;
- ``gs://bucket/prefix?endpoint=http://127.0.0.1:4443``.

Cloud credentials come from the provider's usual environment variables (``AWS_*``,
``AZURE_STORAGE_*``, ``GOOGLE_*``) or from ``StoreConfig.credentials``; never from the URL,
so they do not end up in shell history or process listings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from salvage.model.errors import UsageError
from salvage.storage.base import Store
from salvage.storage.local import LocalStore
from salvage.storage.memory import MemoryStore

_SCHEMES = {"s3": "s3", "az": "azure", "azure": "azure", "gs": "gcs", "gcs": "gcs"}


@dataclass(frozen=True)
class StoreConfig:
    provider: str  # local | memory | s3 | azure | gcs
    bucket: str = ""  # the directory for local
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)


def parse_store_url(url: str) -> StoreConfig:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("", "file"):
        path = parts.path if scheme == "file" else url
        if not path:
            raise UsageError("empty repository path", hint="Pass --repo /some/dir or s3://bucket/prefix.")
        return StoreConfig(provider="local", bucket=path)
    if scheme == "memory":
        return StoreConfig(provider="memory")
    if scheme not in _SCHEMES:
        raise UsageError(
            f"unknown storage scheme `{scheme}://` in {url!r}",
            hint="Use a path, file://, s3://, az://, gs:// or memory://.",
        )
    if not parts.netloc:
        raise UsageError(f"{url!r} names no bucket", hint=f"Write it as {scheme}://BUCKET/PREFIX.")
    query = dict(parse_qsl(parts.query))
    credentials = {}
    if "account" in query:
        credentials["account_name"] = query.pop("account")
    unknown = set(query) - {"endpoint", "region"}
    if unknown:
        raise UsageError(
            f"unknown option(s) {', '.join(sorted(unknown))} in {url!r}",
            hint="Supported: endpoint, region, account (Azure). Credentials come from the environment.",
        )
    return StoreConfig(
        provider=_SCHEMES[scheme],
        bucket=parts.netloc,
        prefix=parts.path.strip("/"),
        endpoint=query.get("endpoint"),
        region=query.get("region"),
        credentials=credentials,
    )


def open_store(config: StoreConfig) -> Store:
    if config.provider == "local":
        return LocalStore(config.bucket)
    if config.provider == "memory":
        return MemoryStore()
    from salvage.storage.object_stores import PROVIDERS, open_cloud_store

    if config.provider not in PROVIDERS:
        raise UsageError(f"unknown storage provider {config.provider!r}")
    return open_cloud_store(
        config.provider,
        config.bucket,
        prefix=config.prefix,
        endpoint=config.endpoint,
        region=config.region,
        credentials=config.credentials,
    )


def open_store_url(url: str) -> Store:
    return open_store(parse_store_url(url))
