"""moto's server mode: the AWS EC2 test server, and the S3 fallback if MinIO is dropped."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from salvage.devcluster.servers.install import check_moto
from salvage.devcluster.servers.launch import Launched, Probe, launch
from salvage.devcluster.servers.minio import S3Server

REGION = "us-east-1"
# moto accepts any key pair; these only have to look like AWS's.
ACCESS_KEY_ID = "AKIASALVAGETEST00000"
SECRET_ACCESS_KEY = "salvage-test-secret"


@dataclass(frozen=True)
class EC2Server:
    """An AWS API endpoint for EC2 (volumes, snapshots) with fresh, empty state."""

    endpoint: str
    region: str
    availability_zone: str
    access_key_id: str
    secret_access_key: str
    launched: Launched

    @property
    def log_path(self) -> Path:
        return self.launched.log_path

    def stop(self) -> None:
        self.launched.stop()


def start_moto_ec2(workdir: Path) -> EC2Server:
    """Start a moto server for EC2; its state lives in memory, its log under ``workdir``."""
    launched = _launch_moto(workdir)
    return EC2Server(
        endpoint=f"http://127.0.0.1:{launched.port}",
        region=REGION,
        availability_zone=f"{REGION}a",
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        launched=launched,
    )


def start_moto_s3(workdir: Path) -> S3Server:
    """A moto server standing in for S3 (``SALVAGE_TEST_S3=moto``); data in memory only."""
    launched = _launch_moto(workdir)
    return S3Server(
        endpoint=f"http://127.0.0.1:{launched.port}",
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        implementation="moto",
        data_dir=workdir,
        launched=launched,
    )


def _launch_moto(workdir: Path) -> Launched:
    check_moto()

    def command(ports: list[int]) -> list[str]:
        # The running interpreter, so moto comes from the same environment as the tests.
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(ports[0])]

    return launch("moto", command, Probe("/moto-api/", {200}), log_path=workdir / "moto.log")
