"""Key files: the master key wrapped by a key derived from a password (keys/<id>)."""

from __future__ import annotations

import base64
import json
import os
import socket
from typing import TypedDict

from salvage.repo.crypto import (
    AuthenticationFailed,
    Cipher,
    KdfParams,
    MasterKey,
    derive_key,
)
from salvage.repo.errors import RepositoryError, UnsupportedVersionError
from salvage.repo.timestamps import utc_now

KEY_VERSION = 1
_AAD = b"salvage-key-v1"


class KdfWire(TypedDict):
    algorithm: str
    n: int
    r: int
    p: int
    salt: str


class KeyFileWire(TypedDict):
    version: int
    created: str
    hostname: str
    kdf: KdfWire
    master: str


class MasterWire(TypedDict):
    repository: str
    encryption: str
    blob_id: str
    chunker_seed: int


def wrap(master: MasterKey, repository_id: str, password: str, params: KdfParams) -> bytes:
    salt = os.urandom(16)
    wrapping = Cipher(derive_key(password, salt, params))
    inner: MasterWire = {
        "repository": repository_id,
        "encryption": _b64(master.encryption),
        "blob_id": _b64(master.blob_id),
        "chunker_seed": master.chunker_seed,
    }
    wire: KeyFileWire = {
        "version": KEY_VERSION,
        "created": utc_now(),
        "hostname": socket.gethostname(),
        "kdf": {"algorithm": "scrypt", "n": params.n, "r": params.r, "p": params.p, "salt": _b64(salt)},
        "master": _b64(wrapping.seal(json.dumps(inner).encode(), _AAD)),
    }
    return json.dumps(wire, indent=2).encode() + b"\n"


def unwrap(data: bytes, repository_id: str, password: str, where: str) -> MasterKey | None:
    """The master key if ``password`` opens this key file, else None."""
    try:
        wire = json.loads(data)
        version = wire["version"]
        kdf = wire["kdf"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RepositoryError(f"key file {where} is damaged (not a key file)") from exc
    if version != KEY_VERSION or kdf.get("algorithm") != "scrypt":
        raise UnsupportedVersionError(
            f"key file {where} has version {version} / kdf {kdf.get('algorithm')!r}, which this Salvage cannot read",
            hint="Upgrade Salvage.",
        )
    try:
        params = KdfParams(n=kdf["n"], r=kdf["r"], p=kdf["p"])
        salt, sealed = base64.b64decode(kdf["salt"]), base64.b64decode(wire["master"])
    except (ValueError, KeyError, TypeError) as exc:  # binascii.Error is a ValueError
        raise RepositoryError(f"key file {where} is damaged (not a key file)") from exc
    wrapping = Cipher(derive_key(password, salt, params))
    try:
        inner = json.loads(wrapping.open(sealed, _AAD))
    except AuthenticationFailed:
        return None
    if inner["repository"] != repository_id:
        raise RepositoryError(
            f"key file {where} belongs to repository {inner['repository']}, not {repository_id}",
            hint="Someone copied a key file between repositories; remove it.",
        )
    return MasterKey(
        encryption=base64.b64decode(inner["encryption"]),
        blob_id=base64.b64decode(inner["blob_id"]),
        chunker_seed=int(inner["chunker_seed"]),
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
