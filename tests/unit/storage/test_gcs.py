"""GCS writes through the JSON API's multipart upload, on an in-process fake of that API.

The real thing (fake-gcs-server) runs in tests/integration/storage/test_real_stores.py;
these pin the requests we send, the errors we raise, and where the token comes from.
"""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salvage.storage.errors import StorageError
from salvage.storage.gcs import GCSCloudStore

UPLOAD = "/upload/storage/v1/b/bkt/o"


class FakeJsonApi:
    """The upload endpoint (and a token endpoint), answering from a dict."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: list[httpx.Request] = []
        self.token_requests = 0
        self.fail_next: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            self.token_requests += 1
            return httpx.Response(200, json={"access_token": f"sa-token-{self.token_requests}",
                                             "expires_in": 3600, "token_type": "Bearer"})
        assert request.url.path == UPLOAD and request.method == "POST"
        assert request.url.params["uploadType"] == "multipart"
        self.uploads.append(request)
        if self.fail_next:
            return httpx.Response(self.fail_next.pop(0), json={"error": {"message": "injected"}})
        name, data = _parts(request)
        if request.url.params.get("ifGenerationMatch") == "0" and name in self.objects:
            return httpx.Response(412, json={"error": {"code": 412, "message": "Precondition Failed"}})
        self.objects[name] = data
        return httpx.Response(200, json={"name": name, "size": str(len(data))})


def _parts(request: httpx.Request) -> tuple[str, bytes]:
    """The object name (from the JSON part) and bytes of a multipart/related upload."""
    message = email.message_from_bytes(
        f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.content,
        policy=email.policy.HTTP)
    metadata, media = message.iter_parts()  # type: ignore[attr-defined]
    return json.loads(metadata.get_content())["name"], media.get_content()


@pytest.fixture
def api() -> FakeJsonApi:
    return FakeJsonApi()


def _store(api: FakeJsonApi, settings: dict[str, str] | None = None, prefix: str = "") -> GCSCloudStore:
    return GCSCloudStore("bkt", prefix=prefix, endpoint="http://gcs.test",
                         settings={"bearer_token": "static"} if settings is None else settings,
                         http=httpx.Client(transport=httpx.MockTransport(api)))


def test_put_is_one_multipart_upload_under_the_prefix(api: FakeJsonApi) -> None:
    data = bytes(range(256)) * 3 + b"\r\n--"  # bytes a boundary parser could trip on
    _store(api, prefix="/salvage/").put("backups/b1/manifest.json", memoryview(data))
    [request] = api.uploads
    assert _parts(request)[0] == "salvage/backups/b1/manifest.json"
    assert "ifGenerationMatch" not in request.url.params
    assert request.headers["Authorization"] == "Bearer static"
    assert api.objects == {"salvage/backups/b1/manifest.json": data}


def test_put_if_absent_asks_for_generation_zero_and_reads_412_as_taken(api: FakeJsonApi) -> None:
    store = _store(api)
    assert store.put_if_absent("locks/a", b"first") is True
    assert store.put_if_absent("locks/a", b"second") is False
    assert [r.url.params["ifGenerationMatch"] for r in api.uploads] == ["0", "0"]
    assert api.objects["locks/a"] == b"first"


def test_a_refused_write_names_the_object_and_the_next_step(api: FakeJsonApi) -> None:
    api.fail_next = [403]
    with pytest.raises(StorageError, match=r"gs://bkt refused access to `k` \(HTTP 403: injected\)") as err:
        _store(api).put("k", b"x")
    assert "credentials" in (err.value.hint or "")
    api.fail_next = [404]
    with pytest.raises(StorageError, match="the bucket does not exist") as err:
        _store(api).put_if_absent("k", b"x")
    assert "bucket name" in (err.value.hint or "")


def test_put_retries_a_server_error_but_put_if_absent_does_not(api: FakeJsonApi) -> None:
    api.fail_next = [503]
    _store(api).put("k", b"x")
    assert len(api.uploads) == 2 and api.objects == {"k": b"x"}
    api.fail_next = [503]
    with pytest.raises(StorageError, match="HTTP 503"):
        _store(api).put_if_absent("other", b"x")
    assert len(api.uploads) == 3


def test_a_service_account_key_is_exchanged_for_a_token_once(api: FakeJsonApi, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "1", "private_key": pem,
        "client_email": "backup@p.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "http://gcs.test/token",
    }))
    store = _store(api, settings={"service_account": str(key_file)})
    store.put("a", b"1")
    store.put("b", b"2")
    assert [r.headers["Authorization"] for r in api.uploads] == ["Bearer sa-token-1"] * 2
    assert api.token_requests == 1


def test_unusable_credentials_are_a_clear_error(api: FakeJsonApi, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no usable Google credentials") as err:
        _store(api, settings={"service_account": str(tmp_path / "missing.json")}).put("k", b"x")
    assert "GOOGLE_APPLICATION_CREDENTIALS" in (err.value.hint or "")
    assert api.uploads == []
