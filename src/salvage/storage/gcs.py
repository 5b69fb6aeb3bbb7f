"""Google Cloud Storage: reads, lists and deletes through obstore; writes through the JSON API.

obstore writes GCS objects with the XML API's object PUT. We write with the JSON API's
single-request multipart upload instead (``POST /upload/storage/v1/b/BUCKET/o?uploadType=multipart``:
the object's metadata and bytes in one body, as Google's own SDKs send small objects),
which real GCS serves and fake-gcs-server implements, so the write path our backups take is
the one the test suite runs. It keeps the contract in :mod:`salvage.storage.base`: one
request creates the object (atomic, replacing any existing one), and ``ifGenerationMatch=0``
makes it a put-if-absent (GCS answers 412 when the name is taken, and decides races on its
side). fake-gcs-server ignores that precondition on ``uploadType=media``, hence multipart.

One credential feeds both halves (:class:`GoogleToken`): a static bearer token, a service
account key, or Google's Application Default Credentials.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from obstore.store import GCSStore

from salvage.storage.base import check_key
from salvage.storage.object_stores import CloudStore
from salvage.storage.errors import StorageError

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
# Credential settings we read ourselves (obstore's GCS config keys, so location files that
# name them keep working); obstore gets only a token from us.
CREDENTIAL_KEYS = ("bearer_token", "service_account", "service_account_path", "service_account_key",
                   "application_credentials")
_ATTEMPTS = 3  # a replacing put is idempotent, so transient failures are retried


class GoogleToken:
    """A bearer token for GCS: static, or refreshed from google-auth credentials.

    Sources, first found wins: ``bearer_token`` (setting or ``GOOGLE_BEARER_TOKEN``); a
    service account key file (``service_account``/``service_account_path`` or
    ``GOOGLE_SERVICE_ACCOUNT``/``GOOGLE_SERVICE_ACCOUNT_PATH``) or its JSON text
    (``service_account_key`` or ``GOOGLE_SERVICE_ACCOUNT_KEY``); a credentials file
    (``application_credentials``); else Application Default Credentials
    (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's login, the metadata server).
    Callable as obstore's ``credential_provider``.
    """

    def __init__(self, settings: Mapping[str, str], http: httpx.Client) -> None:
        self._static = settings.get("bearer_token") or os.environ.get("GOOGLE_BEARER_TOKEN")
        self._settings = settings
        self._http = http
        self._credentials: Any = None
        self._lock = threading.Lock()

    def token(self) -> str:
        return str(self()["token"])

    def __call__(self) -> dict[str, Any]:
        if self._static:
            return {"token": self._static, "expires_at": None}
        with self._lock:
            credentials = self._google_credentials()
            if not credentials.valid:
                import google.auth.exceptions

                try:
                    credentials.refresh(_AuthRequest(self._http))
                except google.auth.exceptions.GoogleAuthError as exc:
                    raise StorageError(
                        f"could not get a Google access token: {exc}",
                        hint="Check the location's GCS credentials (a service account key, or "
                             "`gcloud auth application-default login`).",
                    ) from exc
            expiry = credentials.expiry
            return {"token": credentials.token,
                    "expires_at": expiry.replace(tzinfo=UTC) if isinstance(expiry, datetime) else None}

    def _google_credentials(self) -> Any:
        if self._credentials is None:
            self._credentials = _load_credentials(self._settings)
        return self._credentials


def _load_credentials(settings: Mapping[str, str]) -> Any:
    # Imported here: only GCS locations without a static token need google-auth.
    import google.auth
    import google.auth.exceptions
    from google.oauth2 import service_account

    def setting(key: str, *env: str) -> str | None:
        return settings.get(key) or next((os.environ[e] for e in env if os.environ.get(e)), None)

    try:
        path = setting("service_account", "GOOGLE_SERVICE_ACCOUNT") or setting(
            "service_account_path", "GOOGLE_SERVICE_ACCOUNT_PATH")
        if path:
            return service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])
        key = setting("service_account_key", "GOOGLE_SERVICE_ACCOUNT_KEY")
        if key:
            return service_account.Credentials.from_service_account_info(json.loads(key), scopes=[SCOPE])
        if settings.get("application_credentials"):
            credentials, _ = google.auth.load_credentials_from_file(settings["application_credentials"],
                                                                    scopes=[SCOPE])
            return credentials
        credentials, _ = google.auth.default(scopes=[SCOPE])
        return credentials
    except (google.auth.exceptions.GoogleAuthError, OSError, ValueError) as exc:
        raise StorageError(
            f"no usable Google credentials for GCS: {exc}",
            hint="Set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, run "
                 "`gcloud auth application-default login`, or give the location a bearer_token.",
        ) from exc


class _AuthResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = dict(response.headers)
        self.data = response.content


class _AuthRequest:
    """google-auth's transport interface on httpx (so google-auth needs no ``requests``)."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def __call__(self, url: str, method: str = "GET", body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float | None = None,
                 **_: Any) -> _AuthResponse:
        import google.auth.exceptions

        try:
            response = self._http.request(method, url, content=body, headers=headers, timeout=timeout or 30)
        except httpx.HTTPError as exc:
            raise google.auth.exceptions.TransportError(exc) from exc
        return _AuthResponse(response)


class GCSCloudStore(CloudStore):
    """A bucket and prefix on GCS; everything but writes is :class:`CloudStore`'s."""

    def __init__(self, bucket: str, *, prefix: str, endpoint: str | None, settings: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        self._http = http or httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0))
        self._token = GoogleToken(settings, self._http)
        self._endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        config: Any = {k: v for k, v in settings.items() if k not in CREDENTIAL_KEYS}
        if endpoint:
            config["base_url"] = endpoint
        client_options: Any = {"allow_http": True} if self._endpoint.startswith("http://") else {}
        inner = GCSStore(bucket, prefix=self._prefix or None, config=config, client_options=client_options,
                         credential_provider=self._token)  # type: ignore[arg-type]
        shown = f"{bucket}/{self._prefix}" if self._prefix else bucket
        super().__init__(inner, f"gs://{shown}", endpoint)

    def put(self, key: str, data: bytes) -> None:
        for attempt in range(1, _ATTEMPTS + 1):
            last = attempt == _ATTEMPTS
            response = self._upload(key, data, {}, retrying=not last)
            if response is not None and (last or not _transient(response)):
                break
            time.sleep(0.5 * attempt)
        assert response is not None  # the last attempt raises instead of returning None
        if response.status_code >= 300:
            raise _error(response, key, self.url)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        # Not retried: a retry after a lost answer could find our own object and say "taken".
        response = self._upload(key, data, {"ifGenerationMatch": "0"}, retrying=False)
        assert response is not None
        if response.status_code == 412:
            return False
        if response.status_code >= 300:
            raise _error(response, key, self.url)
        return True

    def _upload(self, key: str, data: bytes, extra: dict[str, str], *, retrying: bool) -> httpx.Response | None:
        name = f"{self._prefix}/{check_key(key)}" if self._prefix else check_key(key)
        boundary = secrets.token_hex(16)
        body = b"".join((
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            json.dumps({"name": name}).encode(),
            f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n".encode(),
            bytes(data),  # callers may pass a memoryview; httpx would stream it as ints
            f"\r\n--{boundary}--\r\n".encode(),
        ))
        try:
            return self._http.post(
                f"{self._endpoint}/upload/storage/v1/b/{self._bucket}/o",
                params={"uploadType": "multipart", **extra},
                content=body,
                headers={"Authorization": f"Bearer {self._token.token()}",
                         "Content-Type": f"multipart/related; boundary={boundary}"},
            )
        except httpx.TransportError as exc:
            if retrying:
                return None
            if isinstance(exc, httpx.ConnectError):
                raise StorageError(
                    f"{self.url}: cannot connect to {self._endpoint} ({exc or type(exc).__name__})",
                    hint="Check the endpoint (scheme, host and port) and that the server runs, then run again.",
                ) from exc
            raise StorageError(
                f"{self.url} failed on `{key}`: {exc or type(exc).__name__}",
                hint="Check the endpoint is reachable, then run the command again.",
            ) from exc


def _transient(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def _error(response: httpx.Response, key: str, url: str) -> StorageError:
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.text.strip().splitlines()[0] if response.text.strip() else response.reason_phrase
    what = f"HTTP {response.status_code}: {message}"
    if response.status_code in (401, 403):
        return StorageError(f"{url} refused access to `{key}` ({what})",
                            hint="Check the location's credentials and their permissions on the bucket.")
    if response.status_code == 404:
        return StorageError(f"{url}: the bucket does not exist ({what})",
                            hint="Create the bucket, or check the bucket name and the endpoint.")
    return StorageError(f"{url} failed on `{key}` ({what})",
                        hint="Check the endpoint is reachable, then run the command again.")
