"""MinIO, built from its Go module, as the S3-compatible test server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from salvage.devcluster.servers.install import server_binaries
from salvage.devcluster.servers.launch import Launched, Probe, launch
from salvage.model.errors import ServerError

REGION = "us-east-1"
ACCESS_KEY_ID = "salvage-test"
SECRET_ACCESS_KEY = "salvage-test-secret"  # MinIO wants at least 8 characters


@dataclass(frozen=True)
class S3Server:
    """An S3 endpoint with path-style buckets (no virtual-host DNS on loopback)."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    implementation: str  # "minio" or "moto": tests that hit a server quirk can say which
    data_dir: Path
    launched: Launched

    @property
    def credentials(self) -> dict[str, str]:
        """Credentials under obstore's S3 config keys."""
        return {"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key}

    @property
    def log_path(self) -> Path:
        return self.launched.log_path

    def stop(self) -> None:
        self.launched.stop()


def start_minio(workdir: Path, *, address: str = "127.0.0.1") -> S3Server:
    """Start MinIO with its data, certs dir and log under ``workdir`` (which must exist),
    listening on ``address`` (loopback; a benchmark gives the node's bridge address, so
    pods and this machine reach the very same endpoint)."""
    binary = server_binaries().minio
    if not binary.exists():
        raise ServerError(
            f"MinIO is not built ({binary} is missing).",
            hint="Run `salvage dev build --test-servers`, which builds and installs every test server.",
        )
    data_dir = workdir / "data"
    data_dir.mkdir()
    env = dict(
        os.environ,
        MINIO_ROOT_USER=ACCESS_KEY_ID,
        MINIO_ROOT_PASSWORD=SECRET_ACCESS_KEY,
        MINIO_REGION=REGION,
        # No web console and no update check: loopback only, nothing reaches out.
        MINIO_BROWSER="off",
        MINIO_UPDATE="off",
    )

    def command(ports: list[int]) -> list[str]:
        return [
            str(binary), "server",
            "--address", f"{address}:{ports[0]}",
            "--console-address", f"127.0.0.1:{ports[1]}",
            "--certs-dir", str(workdir / "certs"),
            str(data_dir),
        ]

    launched = launch(
        "MinIO", command, Probe("/minio/health/ready", {200}, host=address),
        log_path=workdir / "minio.log", ports=2, env=env,
    )
    return S3Server(
        endpoint=f"http://{address}:{launched.port}",
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        implementation="minio",
        data_dir=data_dir,
        launched=launched,
    )
