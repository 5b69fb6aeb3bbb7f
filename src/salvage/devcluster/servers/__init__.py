"""Real storage and cloud API servers on loopback, for integration tests.

MinIO (S3, built from its Go module), Azurite (Azure Blob, from npm), fake-gcs-server
(GCS, built from its Go module), moto's server mode (the AWS EC2 API), and toxiproxy (a
TCP proxy with faults, built from its Go module) to stand between Salvage and any of them. Each runs as
its own process on free 127.0.0.1 ports, with its data and log in a directory the caller
gives, and is stopped by ``stop()`` on the record its start function returns.

Nothing here builds on the fly during a test: :func:`ensure_servers` (also
``python -m salvage.devcluster.servers``) builds and installs them first, and a start
function whose server is missing raises :class:`~salvage.model.errors.ServerError`.
"""

from __future__ import annotations

import os
from pathlib import Path

from salvage.devcluster.servers.azurite import AzureServer, start_azurite
from salvage.devcluster.servers.fake_gcs import GCSServer, start_fake_gcs
from salvage.devcluster.servers.install import ServerBinaries, ensure_servers
from salvage.devcluster.servers.minio import S3Server, start_minio
from salvage.devcluster.servers.moto import EC2Server, start_moto_ec2, start_moto_s3
from salvage.devcluster.servers.toxiproxy import Proxy, ToxiproxyClient, ToxiproxyServer, start_toxiproxy
from salvage.model.errors import UsageError

S3_IMPLEMENTATIONS = ("minio", "moto")


def start_s3_server(workdir: Path, implementation: str | None = None) -> S3Server:
    """MinIO unless ``implementation`` (or ``$SALVAGE_TEST_S3``) says ``moto``."""
    chosen = implementation or os.environ.get("SALVAGE_TEST_S3") or "minio"
    if chosen == "minio":
        return start_minio(workdir)
    if chosen == "moto":
        return start_moto_s3(workdir)
    raise UsageError(
        f"Unknown S3 test server {chosen!r}.",
        hint=f"Set SALVAGE_TEST_S3 to one of: {', '.join(S3_IMPLEMENTATIONS)}.",
    )


__all__ = [
    "AzureServer",
    "EC2Server",
    "GCSServer",
    "Proxy",
    "S3Server",
    "ServerBinaries",
    "ToxiproxyClient",
    "ToxiproxyServer",
    "ensure_servers",
    "start_azurite",
    "start_fake_gcs",
    "start_minio",
    "start_moto_ec2",
    "start_moto_s3",
    "start_s3_server",
    "start_toxiproxy",
]
