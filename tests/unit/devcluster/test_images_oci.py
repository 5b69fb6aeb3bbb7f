"""The OCI archive writer: what `ctr images import` reads must describe the layers exactly."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from salvage.devcluster.images import oci


def _layer(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as out:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return path


def _read(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _blob(files: dict[str, bytes], digest: str) -> bytes:
    data = files["blobs/sha256/" + digest.split(":")[1]]
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest, "a blob must match its name"
    return data


def test_archive_names_the_image_and_describes_every_layer(tmp_path: Path) -> None:
    base = _layer(tmp_path / "base.tar", {"bin/sh": b"#!shell"})
    app = _layer(tmp_path / "app.tar", {"opt/app": b"code"})
    config = oci.ImageConfig(entrypoint=["salvage"], env=["A=1"], user="postgres")

    digest = oci.write_archive(tmp_path / "image.tar", "salvage.local/x:1", [base, app], config)

    files = _read(tmp_path / "image.tar")
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    [entry] = index["manifests"]
    assert entry["digest"] == digest
    assert entry["annotations"][oci.NAME_ANNOTATION] == "salvage.local/x:1"
    manifest = json.loads(_blob(files, digest))
    image_config = json.loads(_blob(files, manifest["config"]["digest"]))
    layer_digests = [layer["digest"] for layer in manifest["layers"]]
    assert layer_digests == image_config["rootfs"]["diff_ids"], "uncompressed: digest and diff_id are one"
    assert [_blob(files, d) for d in layer_digests] == [base.read_bytes(), app.read_bytes()]
    assert image_config["config"] == {"Entrypoint": ["salvage"], "Env": ["A=1"], "WorkingDir": "/", "User": "postgres"}
    assert not (tmp_path / "image.tar.partial").exists()


def test_same_inputs_give_the_same_image_and_a_change_a_new_one(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "l.tar", {"f": b"1"})
    first = oci.write_archive(tmp_path / "a.tar", "salvage.local/x:1", [layer], oci.ImageConfig())
    again = oci.write_archive(tmp_path / "b.tar", "salvage.local/x:1", [layer], oci.ImageConfig())
    other = oci.write_archive(tmp_path / "c.tar", "salvage.local/x:1", [layer], oci.ImageConfig(cmd=["sh"]))
    assert first == again
    assert other != first


def test_a_layer_is_hashed_again_when_it_changes(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "l.tar", {"f": b"1"})
    before = oci.file_digest(layer)
    assert (tmp_path / "l.tar.sha256").read_text().strip() == before
    _layer(layer, {"f": b"2"})
    assert oci.file_digest(layer) != before
