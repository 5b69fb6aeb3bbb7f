"""S3, Azure Blob and GCS through obstore (one SDK, one translation of its errors).

GCS writes are the exception: they go through the JSON API (:mod:`salvage.storage.gcs`).

All three are strongly consistent and their single-request puts are atomic, which is
what :mod:`salvage.storage.base` requires. Put-if-absent uses obstore's ``mode="create"``
(conditional PUT: ``If-None-Match: *`` on S3, ``If-None-Match`` on Azure).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import AzureStore, S3Store

from salvage.storage.base import ObjectInfo, check_key
from salvage.storage.errors import ObjectNotFoundError, StorageError

PROVIDERS = ("s3", "azure", "gcs")


class CloudStore:
    """One bucket (or container) and an optional prefix inside it."""

    def __init__(self, inner: Any, url: str, endpoint: str | None = None) -> None:
        self._inner = inner
        self._url = url
        self._endpoint = endpoint

    @property
    def url(self) -> str:
        return self._url

    def _error(self, exc: Exception, key: str, *, only_bucket_missing: bool = False) -> Exception:
        return _translate(exc, key, self._url, self._endpoint, only_bucket_missing=only_bucket_missing)

    def put(self, key: str, data: bytes) -> None:
        try:
            obstore.put(self._inner, check_key(key), data, use_multipart=False)
        except (BaseError, OSError) as exc:
            raise self._error(exc, key, only_bucket_missing=True) from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            obstore.put(self._inner, check_key(key), data, mode="create", use_multipart=False)
        except (AlreadyExistsError, PreconditionError):
            return False
        except (BaseError, OSError) as exc:
            raise self._error(exc, key, only_bucket_missing=True) from exc
        return True

    def get(self, key: str) -> bytes:
        try:
            return bytes(obstore.get(self._inner, check_key(key)).bytes())
        except (BaseError, OSError) as exc:
            raise self._error(exc, key) from exc

    def get_range(self, key: str, start: int, length: int) -> bytes:
        try:
            return bytes(obstore.get_range(self._inner, check_key(key), start=start, length=length))
        except (BaseError, OSError) as exc:
            raise self._error(exc, key) from exc

    def size(self, key: str) -> int:
        try:
            return int(obstore.head(self._inner, check_key(key))["size"])
        except (BaseError, OSError) as exc:
            raise self._error(exc, key) from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        try:
            for batch in obstore.list(self._inner, prefix=prefix or None):
                for meta in batch:
                    yield ObjectInfo(meta["path"], int(meta["size"]))
        except (BaseError, OSError) as exc:
            raise self._error(exc, prefix, only_bucket_missing=True) from exc

    def delete(self, key: str) -> None:
        try:
            obstore.delete(self._inner, check_key(key))
        except (NotFoundError, FileNotFoundError):
            return
        except (BaseError, OSError) as exc:
            raise self._error(exc, key) from exc


def open_cloud_store(
    provider: str,
    bucket: str,
    *,
    prefix: str = "",
    endpoint: str | None = None,
    region: str | None = None,
    credentials: Mapping[str, str] | None = None,
) -> CloudStore:
    """Build a store; credentials not given here come from the provider's usual env vars."""
    # obstore types these as TypedDicts per provider; we build them generically.
    config: Any = dict(credentials or {})
    client_options: Any = {}
    if endpoint and endpoint.startswith("http://"):
        client_options["allow_http"] = True
    prefix = prefix.strip("/") or None  # type: ignore[assignment]
    shown = f"{bucket}/{prefix}" if prefix else bucket
    if provider == "s3":
        if endpoint:
            config["endpoint"] = endpoint
        if region:
            config["region"] = region
        inner: Any = S3Store(bucket, prefix=prefix, config=config, client_options=client_options)
        return CloudStore(inner, f"s3://{shown}", endpoint)
    if provider == "azure":
        if endpoint:
            config["endpoint"] = endpoint
        inner = AzureStore(bucket, prefix=prefix, config=config, client_options=client_options)
        return CloudStore(inner, f"az://{shown}", endpoint)
    if provider == "gcs":
        from salvage.storage.gcs import GCSCloudStore

        return GCSCloudStore(bucket, prefix=prefix or "", endpoint=endpoint, settings=dict(credentials or {}))
    raise ValueError(f"unknown cloud provider {provider!r}; expected one of {', '.join(PROVIDERS)}")


def _translate(exc: Exception, key: str, url: str, endpoint: str | None = None, *, only_bucket_missing: bool = False) -> Exception:
    """Our error for an SDK error, saying the cause underneath when there is a clearer one
    (no connection, no such bucket). A write or a list cannot meet a missing object: a
    not-found there is the bucket (``only_bucket_missing``)."""
    text = str(exc)
    if _CONNECT.search(text):
        refused = re.search(r'message: "([^"]+)"', text)
        return StorageError(
            f"{url}: cannot connect to {endpoint or 'the provider'}"
            + (f" ({refused.group(1)})" if refused else ""),
            hint="Check the endpoint (scheme, host and port) and that the server runs, then run again.",
        )
    if _NO_BUCKET.search(text) or (only_bucket_missing and isinstance(exc, (NotFoundError, FileNotFoundError))):
        return StorageError(
            f"{url}: the bucket does not exist" + (f" at {endpoint}" if endpoint else ""),
            hint="Create the bucket (or container), or check the bucket name and the endpoint.",
        )
    if isinstance(exc, (NotFoundError, FileNotFoundError)):
        return ObjectNotFoundError(key)
    if _FULL.search(text):
        return StorageError(
            f"{url}: the store is full: it refused to store `{key}` ({_FULL.search(text).group(0)})",  # type: ignore[union-attr]
            hint="Free space on the store or raise its quota (`salvage backup prune` removes old backups), "
                 "then run the command again.",
        )
    if isinstance(exc, (UnauthenticatedError, PermissionDeniedError, PermissionError)) or _REFUSED.search(text):
        # obstore gives a refused list as a generic error: the status says what it is.
        return StorageError(
            f"{url} refused the location's credentials on `{key}` ({_refusal(exc)})",
            hint="They may have been revoked or expired, or lack rights on the bucket: check the location's "
                 "credentials and their permissions (`salvage location check` tries them), then run the command "
                 "again.",
        )
    return StorageError(
        f"{url} failed on `{key}`: {_first_line(exc)}",
        hint="Check the endpoint is reachable, then run the command again.",
    )


_CONNECT = re.compile(r"kind: Connect\b|tcp connect error|dns error", re.IGNORECASE)
# A store out of space or over its quota: MinIO's full drive (HTTP 507), S3-compatible
# quotas, Azure's account and container limits.
_FULL = re.compile(r"XMinioStorageFull|XMinioAdminBucketQuotaExceeded|InsufficientStorage|QuotaExceeded|"
                   r"minimum free drive threshold|no space left on device|507 Insufficient Storage",
                   re.IGNORECASE)
_NO_BUCKET = re.compile(r"NoSuchBucket|ContainerNotFound|bucket does not exist|container does not exist",
                        re.IGNORECASE)


# A refusal: by its HTTP status, or (S3's DeleteObjects answers 200 with an error per key) by its code.
_REFUSED = re.compile(r"status code: (401|403)\b|with status (401|403)\b|\(code: (AccessDenied|InvalidAccessKeyId|"
                      r"SignatureDoesNotMatch|ExpiredToken|InvalidToken|AllAccessDisabled)\)")
_STATUS = re.compile(r"status code: (\d{3} [A-Za-z ]+)|with status (\d{3} [A-Za-z ]+)")
_KEY_REFUSED = re.compile(r"failed for key [^:]+: (.+?) \(code: (\w+)\)")


def _refusal(exc: Exception) -> str:
    """What the store said: its status, and its error code and message when it sent them
    (S3 and Azure answer XML: ``<Code>AccessDenied</Code><Message>Access Denied.</Message>``)."""
    text = str(exc)
    parts = [next(g for g in status.groups() if g).strip()] if (status := _STATUS.search(text)) else []
    if said := _XML_ERROR.search(text):
        message = (said.group(2) or "").strip().split("\n")[0]
        parts.append(f"{said.group(1)}: {message}" if message else said.group(1))
    elif said := _KEY_REFUSED.search(text):
        parts.append(f"{said.group(2)}: {said.group(1)}")
    return ", ".join(parts) or _first_line(exc)


def _first_line(exc: Exception) -> str:
    """The SDK error's first line, and the store's own error code and message when its XML
    body says them on later lines (the first line ends at ``<?xml ...?>``)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    said = _XML_ERROR.search(text)
    if said and said.group(1) not in first:
        first = first.removesuffix('<?xml version="1.0" encoding="UTF-8"?>').rstrip(": ")
        first += f": {said.group(1)}" + (f" ({said.group(2)})" if said.group(2) else "")
    return first


_XML_ERROR = re.compile(r"<Code>([^<]+)</Code>(?:\s*<Message>([^<]*)</Message>)?")
