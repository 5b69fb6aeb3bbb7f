"""OCI image archives written without a registry: layers are plain tar files, and the
archive is an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/...``) in one
tar that ``ctr images import`` takes, named by the ``io.containerd.image.name`` annotation.

Layers stay uncompressed: the archive never leaves this machine, and containerd unpacks an
uncompressed layer without spending a core on gzip.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
NAME_ANNOTATION = "io.containerd.image.name"


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image configuration a pod uses when its spec does not say."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=lambda: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    working_dir: str = "/"
    user: str = ""


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, kept beside it (``<file>.sha256``) once computed: layers
    are large and written once, so they are hashed once."""
    memo = path.with_name(path.name + ".sha256")
    if memo.exists() and memo.stat().st_mtime_ns >= path.stat().st_mtime_ns:
        return memo.read_text().strip()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    value = f"sha256:{digest.hexdigest()}"
    memo.write_text(value + "\n")
    return value


def write_archive(target: Path, ref: str, layers: list[Path], config: ImageConfig) -> str:
    """Write the OCI archive of one image (``ref`` like ``salvage.local/busybox:1.35``) and
    return its manifest digest, which names this exact content."""
    layer_digests = [file_digest(layer) for layer in layers]
    config_blob = _json_bytes({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            key: value for key, value in (
                ("Entrypoint", config.entrypoint), ("Cmd", config.cmd), ("Env", config.env),
                ("WorkingDir", config.working_dir), ("User", config.user),
            ) if value
        },
        "rootfs": {"type": "layers", "diff_ids": layer_digests},
        "history": [{"created_by": f"salvage dev images build ({layer.name})"} for layer in layers],
    })
    manifest_blob = _json_bytes({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": _descriptor(CONFIG_MEDIA_TYPE, config_blob),
        "layers": [
            {"mediaType": LAYER_MEDIA_TYPE, "digest": digest, "size": layer.stat().st_size}
            for layer, digest in zip(layers, layer_digests)
        ],
    })
    manifest = _descriptor(MANIFEST_MEDIA_TYPE, manifest_blob)
    manifest["annotations"] = {NAME_ANNOTATION: ref, "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1]}
    index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [manifest]}

    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
        _add_bytes(archive, "oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"}))
        _add_bytes(archive, "index.json", _json_bytes(index))
        _add_bytes(archive, _blob_name(manifest["digest"]), manifest_blob)
        _add_bytes(archive, _blob_name(_sha256(config_blob)), config_blob)
        seen = set()
        for layer, digest in zip(layers, layer_digests):
            if digest not in seen:
                seen.add(digest)
                archive.add(str(layer), arcname=_blob_name(digest), recursive=False)
    partial.replace(target)
    return str(manifest["digest"])


def _descriptor(media_type: str, blob: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": _sha256(blob), "size": len(blob)}


def _sha256(blob: bytes) -> str:
    return f"sha256:{hashlib.sha256(blob).hexdigest()}"


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))
