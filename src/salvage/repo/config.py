"""The repository config: format version and the parameters fixed for the repository's life.

It is plaintext so a reader can refuse an unknown version before asking for a password.
It holds nothing secret: the chunker's seed lives in the encrypted master key.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TypedDict

from salvage.repo.errors import RepositoryError, UnsupportedVersionError
from salvage.repo.timestamps import utc_now

FORMAT = "salvage-repository"
VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})


class ChunkerWire(TypedDict):
    algorithm: str
    min_size: int
    avg_size: int
    max_size: int
    normalization: int


class CompressionWire(TypedDict):
    algorithm: str
    level: int


class ConfigWire(TypedDict):
    format: str
    version: int
    id: str
    created: str
    chunker: ChunkerWire
    compression: CompressionWire
    encryption: str
    blob_id: str
    pack_size: int


@dataclass(frozen=True)
class ChunkerParams:
    min_size: int = 256 * 1024
    avg_size: int = 1024 * 1024
    max_size: int = 4 * 1024 * 1024
    normalization: int = 1


@dataclass(frozen=True)
class RepoConfig:
    id: str
    created: str
    chunker: ChunkerParams
    compression_level: int
    pack_size: int

    @staticmethod
    def new(
        chunker: ChunkerParams | None = None,
        *,
        compression_level: int = 3,
        pack_size: int = 16 * 1024 * 1024,
    ) -> RepoConfig:
        return RepoConfig(
            id=secrets.token_hex(16),
            created=utc_now(),
            chunker=chunker or ChunkerParams(),
            compression_level=compression_level,
            pack_size=pack_size,
        )

    def to_wire(self) -> ConfigWire:
        return {
            "format": FORMAT,
            "version": VERSION,
            "id": self.id,
            "created": self.created,
            "chunker": {
                "algorithm": "fastcdc-2020",
                "min_size": self.chunker.min_size,
                "avg_size": self.chunker.avg_size,
                "max_size": self.chunker.max_size,
                "normalization": self.chunker.normalization,
            },
            "compression": {"algorithm": "zstd", "level": self.compression_level},
            "encryption": "aes-256-gcm",
            "blob_id": "blake3-keyed",
            "pack_size": self.pack_size,
        }

    def encode(self) -> bytes:
        return json.dumps(self.to_wire(), indent=2).encode() + b"\n"

    @staticmethod
    def decode(data: bytes, where: str) -> RepoConfig:
        try:
            wire = json.loads(data)
        except ValueError as exc:
            raise RepositoryError(
                f"the repository config at {where} is not JSON",
                hint="This location does not hold a Salvage repository, or its config was damaged.",
            ) from exc
        if not isinstance(wire, dict) or wire.get("format") != FORMAT:
            raise RepositoryError(
                f"{where} holds no Salvage repository (config has no format {FORMAT!r})",
                hint="Point --repo at a repository created by `salvage repo init`.",
            )
        version = wire.get("version")
        if version not in SUPPORTED_VERSIONS:
            raise UnsupportedVersionError(
                f"the repository at {where} has format version {version}; this Salvage reads only "
                f"{', '.join(map(str, sorted(SUPPORTED_VERSIONS)))}",
                hint="Upgrade Salvage to a release that supports this repository version.",
            )
        try:
            chunker = wire["chunker"]
            if chunker["algorithm"] != "fastcdc-2020" or wire["compression"]["algorithm"] != "zstd":
                raise UnsupportedVersionError(f"the repository at {where} uses an unknown chunker or compression")
            if wire["encryption"] != "aes-256-gcm" or wire["blob_id"] != "blake3-keyed":
                raise UnsupportedVersionError(f"the repository at {where} uses an unknown cipher or blob id")
            return RepoConfig(
                id=wire["id"],
                created=wire["created"],
                chunker=ChunkerParams(
                    min_size=chunker["min_size"],
                    avg_size=chunker["avg_size"],
                    max_size=chunker["max_size"],
                    normalization=chunker["normalization"],
                ),
                compression_level=wire["compression"]["level"],
                pack_size=wire["pack_size"],
            )
        except (KeyError, TypeError) as exc:
            raise RepositoryError(f"the repository config at {where} lacks field {exc}") from exc
