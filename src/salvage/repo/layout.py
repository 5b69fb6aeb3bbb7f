"""The only module that knows object keys in a repository (docs/FORMAT.md, "Layout").

::

    config                   plaintext JSON: format version and fixed parameters
    keys/<id>                master key, wrapped by a key derived from a password
    data/<id[:2]>/<id>       packs of encrypted blobs
    index/<id>               encrypted: which blob is where
    snapshots/<id>           encrypted: one backup's root tree and metadata
    locks/<id>               encrypted: who is using the repository
"""

from __future__ import annotations

from typing import Literal

FileKind = Literal["keys", "index", "snapshots", "locks"]

CONFIG = "config"
DATA_PREFIX = "data/"


def pack_key(pack_id: str) -> str:
    # Two hex characters of fan-out keep directories small on filesystem stores.
    return f"data/{pack_id[:2]}/{pack_id}"


def pack_id_of(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def file_key(kind: FileKind, file_id: str) -> str:
    return f"{kind}/{file_id}"


def file_prefix(kind: FileKind) -> str:
    return f"{kind}/"


def file_id_of(key: str) -> str:
    return key.rsplit("/", 1)[-1]
