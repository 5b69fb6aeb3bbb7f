"""Keys and authenticated encryption; the only module that touches ``cryptography``.

Every sealed message is ``nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)``
with a random nonce. The associated data binds a message to its role (a blob's id, or
the kind of file), so a pack's blob cannot be swapped for another one undetected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import blake3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE


class AuthenticationFailed(Exception):
    """Internal: a message did not authenticate; callers translate it with context."""


@dataclass(frozen=True)
class KdfParams:
    # scrypt N=2**15, r=8, p=1 costs ~32 MiB and ~0.1 s: the OWASP minimum, and cheap
    # enough to open a repository in a short-lived data-mover pod.
    n: int = 2**15
    r: int = 8
    p: int = 1


def derive_key(password: str, salt: bytes, params: KdfParams) -> bytes:
    return Scrypt(salt=salt, length=32, n=params.n, r=params.r, p=params.p).derive(password.encode("utf-8"))


class Cipher:
    """AES-256-GCM with one key; thread-safe (AESGCM objects keep no per-call state)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256 needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes | memoryview, associated: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes | memoryview, associated: bytes) -> bytes:
        if len(sealed) < OVERHEAD:
            raise AuthenticationFailed("message too short")
        view = memoryview(sealed)  # slices of a view are not copies of the ciphertext
        try:
            return self._aead.decrypt(view[:NONCE_SIZE], view[NONCE_SIZE:], associated)
        except InvalidTag as exc:
            raise AuthenticationFailed("authentication failed") from exc


@dataclass(frozen=True)
class MasterKey:
    """The secrets of one repository; wrapped in every key file."""

    encryption: bytes  # 32 bytes, AES-256-GCM
    blob_id: bytes  # 32 bytes, blake3 key for blob ids
    chunker_seed: int  # perturbs the chunker's gear table so boundaries don't fingerprint files

    @staticmethod
    def generate() -> MasterKey:
        return MasterKey(
            encryption=os.urandom(32),
            blob_id=os.urandom(32),
            chunker_seed=int.from_bytes(os.urandom(7), "big") | 1,
        )

    def cipher(self) -> Cipher:
        return Cipher(self.encryption)

    def id_of(self, data: bytes | memoryview) -> bytes:
        """The keyed blake3 hash that names a blob; without the key, ids reveal nothing."""
        return blake3.blake3(data, key=self.blob_id).digest()


def content_hash(data: bytes | bytearray | memoryview) -> str:
    """Unkeyed hash naming stored files (packs, index, snapshots): checkable without a key."""
    return blake3.blake3(data).hexdigest()
