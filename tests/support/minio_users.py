"""MinIO users a test can take away: its admin API (``/minio/admin/v3``), signed with the
root credentials, to add a user with a policy, then detach the policy or remove the user
while a run uses the user's key (store credentials revoked mid-run, tests/faults).

MinIO wants the secret of a new user encrypted with the caller's
secret key, as its Go client (madmin) does it: ``salt(32) | 0x02 | nonce(8) | sio stream``,
the key from PBKDF2-SHA256 (8192 rounds) and the stream AES-256-GCM in 16 KiB fragments
(secure-io/sio-go). Only loopback servers the tests start are ever asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PBKDF2_AES_GCM = 0x02  # madmin's id for a PBKDF2 key and AES-GCM (the one without Argon2)
_ROUNDS = 8192
_FRAGMENT = 16 * 1024


def admin_encrypt(password: str, data: bytes) -> bytes:
    """``data`` as madmin.EncryptData gives it (the pbkdf2 variant, which every MinIO reads)."""
    salt, nonce = os.urandom(32), os.urandom(8)
    aead = AESGCM(hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ROUNDS, 32))

    def sealed(seq: int, chunk: bytes, last: bool) -> bytes:
        return aead.encrypt(nonce + seq.to_bytes(4, "little"), chunk, (b"\x80" if last else b"\x00") + header_tag)

    header_tag = aead.encrypt(nonce + (0).to_bytes(4, "little"), b"", None)  # binds the stream's associated data
    # Every fragment full but the last, which holds the rest (1 to 16 KiB; empty only for no data).
    cut = max(0, (len(data) - 1) // _FRAGMENT * _FRAGMENT)
    body = b"".join(sealed(1 + i, data[at:at + _FRAGMENT], False) for i, at in enumerate(range(0, cut, _FRAGMENT)))
    body += sealed(1 + cut // _FRAGMENT, data[cut:], True)
    return salt + bytes([_PBKDF2_AES_GCM]) + nonce + body


@dataclass(frozen=True)
class MinioAdmin:
    """MinIO's admin API as its root user."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str

    @classmethod
    def of(cls, server: Any) -> MinioAdmin:
        return cls(server.endpoint, server.region, server.access_key_id, server.secret_access_key)

    def _call(self, method: str, op: str, query: dict[str, str], body: bytes = b"") -> None:
        url = f"{self.endpoint}/minio/admin/v3/{op}?{urlencode(query)}"
        request = AWSRequest(method=method, url=url, data=body)
        S3SigV4Auth(Credentials(self.access_key_id, self.secret_access_key), "s3", self.region).add_auth(request)
        answer = httpx.request(method, url, content=body, headers=dict(request.headers.items()), timeout=30)
        if answer.status_code != 200:
            raise AssertionError(f"MinIO admin {op} answered {answer.status_code}: {answer.text[:500]}")

    def _encrypted(self, document: dict[str, Any]) -> bytes:
        return admin_encrypt(self.secret_access_key, json.dumps(document).encode())

    def add_user(self, access_key: str, secret_key: str) -> None:
        self._call("PUT", "add-user", {"accessKey": access_key},
                   self._encrypted({"secretKey": secret_key, "status": "enabled"}))

    def set_policy(self, user: str, policy: str) -> None:
        """The user's policies: ``policy`` alone, or none when it is empty."""
        self._call("PUT", "set-user-or-group-policy", {"policyName": policy, "userOrGroup": user, "isGroup": "false"})

    def remove_user(self, access_key: str) -> None:
        self._call("DELETE", "remove-user", {"accessKey": access_key})


@dataclass(frozen=True)
class StoreUser:
    """A MinIO user with the built-in ``readwrite`` policy, made for one test."""

    admin: MinioAdmin
    access_key_id: str
    secret_access_key: str
    policy: str = "readwrite"

    @classmethod
    def create(cls, admin: MinioAdmin) -> StoreUser:
        user = cls(admin, f"fault-{secrets.token_hex(6)}", secrets.token_hex(16))
        return user.grant()

    def grant(self) -> StoreUser:
        """(Re)create the user and attach its policy: the rights given back."""
        self.admin.add_user(self.access_key_id, self.secret_access_key)
        self.admin.set_policy(self.access_key_id, self.policy)
        return self

    @property
    def credentials(self) -> dict[str, str]:
        """Under obstore's S3 config keys, as ``location add --credential`` takes them."""
        return {"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key}

    def detach(self) -> None:
        self.admin.set_policy(self.access_key_id, "")

    def remove(self) -> None:
        self.admin.remove_user(self.access_key_id)
